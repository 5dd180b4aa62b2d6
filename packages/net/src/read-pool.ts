/**
 * The shared read-buffer pools of all sockets of this Node environment, each
 * a provided-buffer ring created on first use. No socket owns a read buffer:
 * stream sockets draw from {@link readPool}, message sockets (UDP,
 * SOCK_SEQPACKET) from {@link messagePool}, whose buffers hold one whole
 * message each.
 *
 * @packageDocumentation
 */
import { environmentSingleton, getProactor, type BufferGroup, type Proactor } from '@ringio/core/transport'

/** Sizes of the shared read pool. */
export interface ReadPoolOptions {
  /** Number of buffers (a power of two, 1..32768). Default 1024. */
  count?: number
  /**
   * Bytes per buffer. Default 65536, as Node reads 64 KiB at a time: a burst
   * arrives as one chunk, not four (echo of 100 x 4 KiB x 16 in flight: 1.4x
   * msgs/s against 16 KiB, issue 18). Memory follows use, not this size: the
   * ring grows with demand and a buffer's pages are touched only as far as
   * data lands in them (RSS at 10 000 connections of 64 B messages was the
   * same with 16 and 64 KiB).
   */
  size?: number
}

/** A pool's size and the group made for the current proactor. */
interface PoolState<O> {
  config: Required<O>
  group: BufferGroup | null
  owner: Proactor | null
}

// One of each per Node environment, whichever builds (ESM, CJS) are loaded: two
// copies would be two pools, each with its own buffers, and configure*() would reach one.
const stream = environmentSingleton<PoolState<ReadPoolOptions>>('net.readPool', () => ({ config: { count: 1024, size: 65536 }, group: null, owner: null }))

/**
 * Sets the pool's size. Takes effect for the next pool created: call it
 * before the first socket reads (a running pool is not resized).
 */
export function configureReadPool(opts: ReadPoolOptions): void {
  const count = opts.count ?? stream.config.count
  const size = opts.size ?? stream.config.size
  if (!Number.isInteger(count) || count < 1 || count > 32768 || (count & (count - 1)) !== 0) {
    throw new RangeError(`read pool count must be a power of two in 1..32768, got ${String(count)}`)
  }
  if (!Number.isInteger(size) || size < 64 || size > 1 << 20) throw new RangeError(`read pool size must be 64..1048576 bytes, got ${String(size)}`)
  stream.config = { count, size }
}

/** The pool for the current proactor (a new one if the proactor was replaced). */
export function readPool(): BufferGroup {
  const p = getProactor()
  if (stream.group === null || stream.owner !== p) {
    stream.group = p.bufferGroup(stream.config.count, stream.config.size)
    stream.owner = p
  }
  return stream.group
}

/** Sizes of the shared message pool (UDP and SOCK_SEQPACKET receives). */
export interface MessagePoolOptions {
  /** Number of buffers (a power of two, 1..32768). Default 128. */
  count?: number
  /**
   * The largest message received through the pool, in bytes. Default 65536
   * (every UDP datagram). Channels whose `maxMessage` is larger receive into
   * a buffer of their own instead.
   */
  size?: number
}

/**
 * Bytes of each message buffer before the payload, at most: the 16-byte
 * `io_uring_recvmsg_out`, then room for a source address and control data
 * (what a receiver reserves must fit in here).
 */
export const MESSAGE_HEADROOM = 16 + 128 + 64

const message = environmentSingleton<PoolState<MessagePoolOptions>>('net.messagePool', () => ({ config: { count: 128, size: 65536 }, group: null, owner: null }))

/**
 * Sets the message pool's size. Takes effect for the next pool created: call
 * it before the first UDP or SOCK_SEQPACKET socket receives.
 */
export function configureMessagePool(opts: MessagePoolOptions): void {
  const count = opts.count ?? message.config.count
  const size = opts.size ?? message.config.size
  if (!Number.isInteger(count) || count < 1 || count > 32768 || (count & (count - 1)) !== 0) {
    throw new RangeError(`message pool count must be a power of two in 1..32768, got ${String(count)}`)
  }
  if (!Number.isInteger(size) || size < 0 || size > 1 << 24) throw new RangeError(`message pool size must be 0..16777216 bytes, got ${String(size)}`)
  message.config = { count, size }
}

/** The message pool for the current proactor (a new one if the proactor was replaced). */
export function messagePool(): BufferGroup {
  const p = getProactor()
  if (message.group === null || message.owner !== p) {
    message.group = p.bufferGroup(message.config.count, message.config.size + MESSAGE_HEADROOM)
    message.owner = p
  }
  return message.group
}
