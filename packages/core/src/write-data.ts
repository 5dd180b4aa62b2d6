/**
 * What a write accepts, and who owns its bytes once it is accepted: small
 * buffers are copied at call time (the caller may reuse its buffer at once),
 * larger ones are referenced until the write settles. The write queue and the
 * message channels (UDP, SEQPACKET) decide with the same rule.
 *
 * @packageDocumentation
 */
import { allocChunk } from './slab.js'

/** What a write accepts: bytes, a string (UTF-8), or an array of those (written contiguously, in order). */
export type WriteData = Uint8Array | string | readonly (Uint8Array | string)[]

/**
 * The default `copyThreshold`: writes up to this size are copied at call time
 * (the caller may reuse its buffer at once); larger ones are referenced. Code
 * that hands buffers to a queue (or copies as a queue would) decides with it.
 */
export const DEFAULT_COPY_THRESHOLD = 4096

/**
 * `b` as a queue keeps it: up to `threshold` bytes copied now into a slab
 * chunk (`slab.ts`), larger ones referenced (the caller leaves them untouched
 * until the write settles).
 */
export function ownBytes(b: Uint8Array, threshold: number = DEFAULT_COPY_THRESHOLD): Uint8Array {
  if (b.length > threshold) return b
  const copy = allocChunk(b.length)
  copy.set(b)
  return copy
}

/**
 * `data` as the buffers a queue keeps (strings encoded, small buffers copied).
 * @throws TypeError at the call site for data of the wrong type
 */
export function toBuffers(data: WriteData, threshold: number): Uint8Array[] {
  if (typeof data === 'string') return [Buffer.from(data, 'utf8')]
  if (data instanceof Uint8Array) return [ownBytes(data, threshold)]
  if (Array.isArray(data)) {
    return data.map((d, i) => {
      if (typeof d === 'string') return Buffer.from(d, 'utf8')
      if (d instanceof Uint8Array) return ownBytes(d, threshold)
      throw new TypeError(`write: data[${i}] must be a Buffer, Uint8Array or string, got ${typeof d}`)
    })
  }
  throw new TypeError(`write: data must be a Buffer, Uint8Array, string or an array of them, got ${data === null ? 'null' : typeof data}`)
}
