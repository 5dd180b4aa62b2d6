/**
 * Aligned memory for O_DIRECT: `posix_memalign` through koffi, viewed as a
 * Buffer with no copy (DESIGN.md principle 7), freed when the last view of
 * it is garbage-collected.
 *
 * @packageDocumentation
 */
import { addressOf, HUGE_PAGE as CORE_HUGE_PAGE, HugeRegion, libc } from '@ringio/core/transport'
import { free, posixMemalign } from './sys.js'

/** The page size, the alignment that satisfies every O_DIRECT file system. */
export const PAGE_SIZE = 4096

/**
 * The (x86-64) transparent huge page size. O_DIRECT buffers of this size or
 * more are placed on huge-page boundaries and advised `MADV_HUGEPAGE`, so
 * their memory is physically contiguous: the block layer then sends a 1 MiB
 * read as one request with a few segments instead of ~256 scattered 4 KiB
 * pages, which a device limited to fewer segments per request (virtio-blk:
 * `max_segments` 254) must split. Measured on a virtio disk: sequential 1 MiB
 * O_DIRECT reads 4–5x faster from a huge-page buffer than from 4 KiB pages.
 */
export const HUGE_PAGE: number = CORE_HUGE_PAGE

/** Largest single allocation (1 GiB): a bigger O_DIRECT buffer buys nothing. */
const MAX_ALIGNED = 2 ** 30

// The ArrayBuffer koffi.view() returns does not own its memory. Every Buffer
// and slice made from it keeps that ArrayBuffer alive (so does the proactor,
// while an operation uses it), so once it is collected nobody can reach the
// memory any more and it is safe to free.
const registry = new FinalizationRegistry<number>((addr) => free(addr))
const mapped = new FinalizationRegistry<[number, number]>(([addr, len]) => libc.munmap(addr, len))
/** The address of every live aligned allocation: checking an O_DIRECT buffer then costs no koffi call. */
const known = new WeakMap<ArrayBufferLike, number>()

/** True when `n` is a power of two ≥ 1. */
export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 2 ** 30 && (n & (n - 1)) === 0
}

/** @internal */
export function checkAlignment(alignment: unknown): number {
  if (typeof alignment !== 'number' || !isPowerOfTwo(alignment) || alignment < 8) {
    throw new RangeError(`alignment must be a power of two ≥ 8, got ${String(alignment)}`)
  }
  return alignment
}

/** @internal */
export function checkSize(size: unknown): number {
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > MAX_ALIGNED) {
    throw new RangeError(`size must be an integer between 1 and ${MAX_ALIGNED}, got ${String(size)}`)
  }
  return size
}

/**
 * Allocates a zero-filled Buffer of `size` bytes whose first byte sits at a
 * multiple of `alignment`, for O_DIRECT reads and writes. The memory comes
 * from `posix_memalign` and is freed once the Buffer (and every slice of it)
 * has been garbage-collected.
 *
 * Choose a `size` that is a multiple of the file's offset alignment
 * (`file.alignment.offset`, 512 or 4096 on most devices): O_DIRECT transfers
 * whole blocks.
 *
 * ## Example
 * ```ts
 * import { allocAligned, open } from '@ringio/fs'
 * const f = await open('/var/tmp/data.bin', 'w+', { direct: true })
 * const buf = allocAligned(1 << 20)            // 1 MiB, page-aligned
 * buf.fill(0x2a)
 * await f.write(buf, 0)
 * ```
 * V8 does not see this memory in its heap statistics, so a loop that
 * allocates many aligned buffers may hold more native memory than it
 * expects before the collector runs: reuse buffers through an
 * {@link AlignedPool} on hot paths.
 *
 * @param size bytes, 1 to 2^30
 * @param alignment a power of two ≥ 8; default {@link PAGE_SIZE}
 * @throws RangeError for a bad size or alignment
 * @throws Error when `posix_memalign` fails (`ENOMEM`)
 */
export function allocAligned(size: number, alignment: number = PAGE_SIZE): Buffer {
  const len = checkSize(size)
  const al = checkAlignment(alignment)
  if (len < HUGE_PAGE || al > HUGE_PAGE) {
    const out = Buffer.alloc(8)
    const rc = posixMemalign(out, al, len)
    if (rc !== 0) throw new Error(`allocAligned: posix_memalign(${al}, ${len}) failed with errno ${rc}`)
    const addr = Number(out.readBigUInt64LE(0))
    const ab = libc.view(addr, len)
    registry.register(ab, addr)
    known.set(ab, addr)
    return Buffer.from(ab).fill(0)
  }
  return hugeAligned(roundUp(len, HUGE_PAGE)).subarray(0, len)
}

/**
 * `len` bytes (a multiple of {@link HUGE_PAGE}) of fresh anonymous memory at a
 * huge-page boundary, advised `MADV_HUGEPAGE` before the first touch and
 * unmapped once collected. Its own mapping, not malloc's: memory malloc
 * recycles was already faulted in as 4 KiB pages, which the advice does not
 * turn into huge ones. Where THP is off or refused it is ordinary pages.
 */
export function hugeAligned(len: number): Buffer {
  let r: HugeRegion
  try {
    r = new HugeRegion(len)
  } catch (err) {
    throw new Error(`allocAligned: ${(err as Error).message}`)
  }
  const ab = r.bytes.buffer
  // Unmapped when the last view is collected (the region object itself is dropped here).
  mapped.register(ab, [r.addr, r.length])
  known.set(ab, r.addr)
  // Faults the memory in now (huge pages where granted) rather than in the first read; it is zero already.
  return Buffer.from(ab).fill(0)
}

/**
 * A Buffer of `size` bytes at an `alignment` boundary, carved from an ordinary
 * (garbage-collected, heap-accounted) allocation of `size + alignment` bytes.
 * Used for chunks handed to subscribers, whose lifetime we do not control.
 */
export function heapAligned(size: number, alignment: number): Buffer {
  const raw = Buffer.allocUnsafeSlow(size + alignment)
  const skip = (alignment - (addressOf(raw) % alignment)) % alignment
  return raw.subarray(skip, skip + size)
}

/** True when `buf`'s first byte is at a multiple of `alignment`. */
export function isAlignedBuffer(buf: Uint8Array, alignment: number): boolean {
  if (buf.length === 0) return true
  const base = known.get(buf.buffer)
  return (base === undefined ? addressOf(buf) : base + buf.byteOffset) % alignment === 0
}

/** `n` rounded up to a multiple of `alignment` (a power of two). */
export function roundUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment
}
