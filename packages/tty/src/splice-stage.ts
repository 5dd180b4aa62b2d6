/**
 * Bytes into a pipe with one copy made outside the pipe's lock: they are
 * copied into a staging region of huge pages, and `vmsplice(2)` hands the
 * pipe references to those pages. A plain `write(2)` instead allocates pipe
 * pages and copies into them while holding the pipe's mutex, which the reader
 * needs for every read — so the reader waits for the writer's copy. Into
 * `cat > /dev/null` (measured on 6.18): ~5.5 GiB/s with vmsplice, ~2.9 GiB/s
 * with a spinning non-blocking write, ~2.6 GiB/s for `process.stdout.write`.
 *
 * # Why this is safe
 * The pipe holds references to our pages until its reader has consumed them
 * — and a reader that splices them on (to a socket, say) may keep them
 * referenced even longer, with no way for us to know. So a staged byte that
 * the pipe has taken is never written again: the region is only filled
 * forward, and before it is reused it is dropped (`MADV_DONTNEED`), which
 * gives this process fresh zeroed pages at the same addresses while the pages
 * the pipe references live on, unchanged, for as long as it needs them.
 *
 * # Why huge pages
 * Each reuse faults the region in again. With 4 KiB pages that is 512 faults
 * per 2 MiB, and the path measured 0.47x of a plain write; with a huge page it
 * is one fault and one clear. Where THP is off, {@link SpliceStage.create}
 * returns null; where the kernel refused huge pages, or refuses to drop the
 * region (memory locked by `mlockall`), the stage retires; either way the
 * caller writes instead.
 *
 * `SPLICE_F_NONBLOCK` makes each try non-blocking by its own flag: no file
 * flag is involved.
 *
 * @packageDocumentation
 * @internal
 */
import { EINVAL, HugeRegion, thpPossible } from '@ringio/core/transport'
import { errno, vmsplice } from './libc.js'

const SPLICE_F_NONBLOCK = 2
const TWO32 = 2 ** 32
/** The staging region: two huge pages, reused after a drop. */
const REGION = 4 * 1024 * 1024

/** A staging region and the bytes in it that the pipe has not taken yet. */
export class SpliceStage {
  /** Offset of the first staged byte not yet taken by the pipe; everything before it was handed over. */
  private cursor = 0
  /** Bytes staged and not yet taken: always the next bytes of the stream. */
  private staged = 0
  /** Set when the region turned out not to be huge pages: the stage hands over what it staged, then stands down. */
  private retired = false
  private readonly iov = new Uint8Array(16)
  private readonly iov32 = new Uint32Array(this.iov.buffer)

  private constructor(
    private readonly region: HugeRegion,
    private readonly batch: number,
  ) {}

  /**
   * A stage that stages at most `batch` bytes at a time (a pipe's capacity:
   * more cannot go in one try), or null where THP is off or the region cannot
   * be mapped. Whether the kernel really gave huge pages is checked off the
   * JS thread (`/proc/self/smaps` costs milliseconds): until then the stage
   * works with whatever pages it got, and if they are not huge it retires
   * ({@link active} turns false) once its staged bytes are out.
   */
  static create(batch: number): SpliceStage | null {
    if (!thpPossible()) return null
    let region: HugeRegion
    try {
      region = new HugeRegion(REGION)
    } catch {
      return null
    }
    const stage = new SpliceStage(region, Math.min(batch, REGION))
    region.bytes[0] = 0 // fault the first huge page in, to learn whether it is one
    void region.hugePagesAsync().then((huge) => {
      if (!huge) stage.retired = true
    })
    return stage
  }

  /** False once the stage retired and handed over its last staged byte: write instead. */
  get active(): boolean {
    return !this.retired || this.staged > 0
  }

  /** True while staged bytes wait for the pipe: they must go before anything else. */
  get holding(): boolean {
    return this.staged > 0
  }

  /**
   * One non-blocking try to move the next bytes of a write — `bufs` from
   * buffer `at`, offset `off` — into the pipe `fd`. Bytes staged by an
   * earlier try that the pipe did not take go first: they are the same
   * bytes, since writes resume where they stopped.
   * @returns bytes taken (> 0), or `-errno` (`-EAGAIN`: the pipe is full;
   *   `-EINVAL`: the region could not be dropped for reuse, and the stage retired)
   */
  push(fd: number, bufs: readonly Uint8Array[], at: number, off: number): number {
    if (this.staged === 0 && !this.stage(bufs, at, off)) return -EINVAL
    const a = this.region.addr + this.cursor
    this.iov32[0] = a % TWO32
    this.iov32[1] = Math.floor(a / TWO32)
    this.iov32[2] = this.staged
    this.iov32[3] = 0
    const r = vmsplice(fd, this.iov, 1, SPLICE_F_NONBLOCK)
    if (r < 0) return -errno()
    this.cursor += r
    this.staged -= r
    return r
  }

  /** Forgets staged bytes that will not be written (their write failed or was cancelled). */
  discard(): void {
    this.staged = 0
  }

  /**
   * Stands down at once, forgetting what is staged: for a `vmsplice` the
   * system refuses (a seccomp filter's EPERM, ENOSYS). Nothing staged was
   * taken, so writing resumes at the same byte.
   */
  retire(): void {
    this.retired = true
    this.staged = 0
  }

  /** Between bursts: gives the region's memory back, so an idle writer holds none. */
  idle(): void {
    if (this.staged !== 0) return
    if (this.retired) return this.region.release()
    if (this.cursor === 0) return
    if (this.region.drop()) this.cursor = 0
    else this.retire()
  }

  /** Unmaps the region (pages the pipe still holds stay valid there). */
  close(): void {
    this.staged = 0
    this.region.release()
  }

  /** Copies the next bytes in; false (and retired) when the region needed a drop the kernel refused. */
  private stage(bufs: readonly Uint8Array[], at: number, off: number): boolean {
    if (this.cursor + this.batch > this.region.length) {
      // Everything before the cursor was handed over: drop, never overwrite.
      if (!this.region.drop()) {
        this.retire()
        return false
      }
      this.cursor = 0
    }
    const dst = this.region.bytes
    let n = 0
    for (let i = at; i < bufs.length && n < this.batch; i++) {
      const b = bufs[i]!
      const from = i === at ? off : 0
      const take = Math.min(b.length - from, this.batch - n)
      dst.set(from === 0 && take === b.length ? b : b.subarray(from, from + take), this.cursor + n)
      n += take
    }
    this.staged = n
    return true
  }
}
