/**
 * Small owned Buffers carved from shared slabs, like Node's own Buffer pool
 * but larger: chunks copied out of the read pool and small writes copied at
 * call time land in the same ArrayBuffer, so the proactor learns the slab's
 * address once (one koffi call) instead of once per chunk.
 *
 * A slab lives as long as any Buffer carved from it: keep that in mind before
 * holding many tiny chunks for a long time (copy them to compact memory).
 *
 * @packageDocumentation
 */

const SLAB_SIZE = 256 * 1024
/** Chunks above this get their own allocation: a slab is for many small ones. */
const MAX_CARVE = 16 * 1024

let slab: ArrayBuffer = newSlab()
let used = 0

/**
 * An uninitialised slab. `new ArrayBuffer` zero-fills: at 900 MB/s of echoed
 * 4 KiB chunks that memset was 8 % of the server's CPU (issue 18's profile),
 * and every carve is written whole by its caller before anyone reads it.
 */
function newSlab(): ArrayBuffer {
  return Buffer.allocUnsafeSlow(SLAB_SIZE).buffer as ArrayBuffer
}

/** A new, uninitialised Buffer of `len` bytes that the caller owns. */
export function allocChunk(len: number): Buffer {
  if (len > MAX_CARVE) return Buffer.allocUnsafeSlow(len)
  if (used + len > SLAB_SIZE) {
    slab = newSlab()
    used = 0
  }
  const b = Buffer.from(slab, used, len)
  used = (used + len + 7) & ~7 // keep chunks 8-byte aligned
  return b
}
