/**
 * The shared read-buffer pool of all sockets of this Node environment: one
 * provided-buffer ring, created on first use. No socket owns a read buffer.
 *
 * @packageDocumentation
 */
import { getProactor, type BufferGroup, type Proactor } from '@ringio/core'

/** Sizes of the shared read pool. */
export interface ReadPoolOptions {
  /** Number of buffers (a power of two, 1..32768). Default 1024. */
  count?: number
  /** Bytes per buffer. Default 16384. */
  size?: number
}

let config: Required<ReadPoolOptions> = { count: 1024, size: 16384 }
let group: BufferGroup | null = null
let owner: Proactor | null = null

/**
 * Sets the pool's size. Takes effect for the next pool created: call it
 * before the first socket reads (a running pool is not resized).
 */
export function configureReadPool(opts: ReadPoolOptions): void {
  const count = opts.count ?? config.count
  const size = opts.size ?? config.size
  if (!Number.isInteger(count) || count < 1 || count > 32768 || (count & (count - 1)) !== 0) {
    throw new RangeError(`read pool count must be a power of two in 1..32768, got ${String(count)}`)
  }
  if (!Number.isInteger(size) || size < 64 || size > 1 << 20) throw new RangeError(`read pool size must be 64..1048576 bytes, got ${String(size)}`)
  config = { count, size }
}

/** The pool for the current proactor (a new one if the proactor was replaced). */
export function readPool(): BufferGroup {
  const p = getProactor()
  if (group === null || owner !== p) {
    group = p.bufferGroup(config.count, config.size)
    owner = p
  }
  return group
}
