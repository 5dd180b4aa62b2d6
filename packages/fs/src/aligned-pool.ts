/**
 * A pool of equal-sized aligned buffers for O_DIRECT hot paths: take one,
 * use it, give it back, with no allocation after warm-up.
 *
 * @packageDocumentation
 */
import { allocAligned, checkAlignment, checkSize, HUGE_PAGE, hugeAligned, PAGE_SIZE, roundUp } from './aligned.js'

/** Buffers from this size up to a huge page are carved from shared huge-page slabs (see {@link HUGE_PAGE}). */
const SLAB_MIN = 256 * 1024

/** Options of an {@link AlignedPool}. */
export interface AlignedPoolOptions {
  /** Bytes per buffer (1 to 2^30); a multiple of the files' offset alignment for O_DIRECT. */
  size: number
  /** Address alignment, a power of two ≥ 8. Default {@link PAGE_SIZE}. */
  alignment?: number
  /** Most free buffers kept for reuse; buffers released beyond it are left to the collector. Default 64. */
  maxFree?: number
}

/**
 * A pool of aligned Buffers of one size, allocated with {@link allocAligned}
 * on demand and reused after {@link AlignedPool.release}.
 *
 * ## Example
 * ```ts
 * import { AlignedPool, open } from '@ringio/fs'
 * const pool = new AlignedPool({ size: 1 << 20 })
 * const f = await open('/var/tmp/data.bin', 'r', { direct: true })
 * const buf = pool.acquire()
 * try { const n = await f.read(buf, 0); use(buf.subarray(0, n)) } finally { pool.release(buf) }
 * ```
 * A released buffer is handed out again as is (not zeroed). Release a buffer
 * only once no operation uses it any more (after its Promise settled).
 */
export class AlignedPool {
  /** Bytes per buffer. */
  readonly size: number
  /** Address alignment of every buffer. */
  readonly alignment: number
  private readonly maxFree: number
  private readonly free: Buffer[] = []
  private readonly lent = new WeakSet<Buffer>()
  private issued = 0
  /** The huge-page slab buffers are carved from (sizes SLAB_MIN..HUGE_PAGE), and the bytes of it handed out. */
  private slab: Buffer | null = null
  private slabUsed = 0
  private readonly stride: number

  constructor(opts: AlignedPoolOptions) {
    this.size = checkSize(opts.size)
    this.alignment = checkAlignment(opts.alignment ?? PAGE_SIZE)
    const maxFree = opts.maxFree ?? 64
    if (!Number.isInteger(maxFree) || maxFree < 0) throw new RangeError(`maxFree must be an integer ≥ 0, got ${maxFree}`)
    this.maxFree = maxFree
    // Validates size and alignment now rather than at the first acquire().
    this.stride = roundUp(this.size, Math.max(this.alignment, PAGE_SIZE))
    this.free.push(this.allocate())
  }

  /** Buffers lent out and not yet released. */
  get inUse(): number {
    return this.issued
  }

  /** Free buffers ready for reuse. */
  get available(): number {
    return this.free.length
  }

  /** A buffer of `size` bytes at an `alignment` boundary: a free one, or a new one. */
  acquire(): Buffer {
    const b = this.free.pop() ?? this.allocate()
    this.lent.add(b)
    this.issued++
    return b
  }

  /**
   * Gives `buf` back for reuse.
   * @throws TypeError when `buf` was not acquired from this pool or was already released
   */
  release(buf: Buffer): void {
    if (!this.lent.has(buf)) throw new TypeError('AlignedPool.release: this buffer is not lent out by this pool')
    this.lent.delete(buf)
    this.issued--
    if (this.free.length < this.maxFree) this.free.push(buf)
  }

  /**
   * A new buffer. Sizes from 256 KiB to 2 MiB share huge-page slabs (a slab
   * lives until every buffer carved from it is collected): physically
   * contiguous, and no huge page per buffer. Others come from allocAligned.
   */
  private allocate(): Buffer {
    if (this.size < SLAB_MIN || this.stride > HUGE_PAGE || this.alignment > HUGE_PAGE) return allocAligned(this.size, this.alignment)
    if (this.slab === null || this.slabUsed + this.stride > HUGE_PAGE) {
      this.slab = hugeAligned(HUGE_PAGE)
      this.slabUsed = 0
    }
    const b = this.slab.subarray(this.slabUsed, this.slabUsed + this.size)
    this.slabUsed += this.stride
    return b
  }

  /** Drops every free buffer (their memory is freed once collected). Lent buffers stay valid. */
  clear(): void {
    this.free.length = 0
  }
}
