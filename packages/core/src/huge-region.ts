/**
 * Anonymous memory on transparent-huge-page boundaries, owned explicitly:
 * one `mmap`, advised `MADV_HUGEPAGE` before the first touch, `MADV_DONTNEED`
 * on demand, `munmap` on release.
 *
 * Why huge pages: memory that is faulted in again and again (see
 * {@link HugeRegion.drop}) costs one fault and one 2 MiB clear per huge page
 * instead of 512 faults; and the block layer sees a 1 MiB O_DIRECT buffer as a
 * few physically contiguous segments (a virtio disk takes at most 254).
 *
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { madvise, mmapAnonymous, munmap, view } from './sys/libc.js'

/** The (x86-64) transparent huge page size. */
export const HUGE_PAGE = 2 * 1024 * 1024

const MADV_DONTNEED = 4
const MADV_HUGEPAGE = 14

/**
 * `length` bytes (rounded up to {@link HUGE_PAGE}) of zeroed anonymous memory
 * whose first byte is on a huge-page boundary. Where THP is off or refused
 * the memory is ordinary 4 KiB pages ({@link HugeRegion.hugePages} tells).
 *
 * ## Example
 * ```ts
 * const r = new HugeRegion(4 << 20)
 * r.bytes.set(data) // r.addr is data's address for a syscall
 * r.drop()          // gives the pages back; the next touch gets fresh zeroed ones
 * r.release()       // unmaps; r.bytes must not be touched again
 * ```
 */
export class HugeRegion {
  /** The address of the first byte. */
  readonly addr: number
  /** The whole region (a view: no copy, not garbage-collected memory). */
  readonly bytes: Uint8Array
  /** The mapped length, a multiple of {@link HUGE_PAGE}. */
  readonly length: number
  private mapped = true

  /** @throws Error when the mapping fails (ENOMEM) */
  constructor(length: number) {
    this.length = Math.ceil(Math.max(length, 1) / HUGE_PAGE) * HUGE_PAGE
    const span = this.length + HUGE_PAGE
    const raw = mmapAnonymous(span)
    if (raw < 0) throw new Error(`HugeRegion: mmap(${span}) failed with errno ${-raw}`)
    this.addr = Math.ceil(raw / HUGE_PAGE) * HUGE_PAGE
    // Keep only the aligned part: the slack on either side is unmapped.
    if (this.addr > raw) munmap(raw, this.addr - raw)
    if (raw + span > this.addr + this.length) munmap(this.addr + this.length, raw + span - this.addr - this.length)
    madvise(this.addr, this.length, MADV_HUGEPAGE)
    this.bytes = new Uint8Array(view(this.addr, this.length))
  }

  /**
   * Gives the region's pages back (`MADV_DONTNEED`): the next touch faults in
   * fresh zeroed memory. A page the kernel still references — spliced into a
   * pipe, pinned by an in-flight I/O — lives on there, untouched by later
   * writes to the region.
   * @returns false when the kernel refused (EINVAL on memory locked by
   *   `mlockall`, say): the old pages are still mapped here
   */
  drop(): boolean {
    return this.mapped && madvise(this.addr, this.length, MADV_DONTNEED) === 0
  }

  /**
   * True when the region's touched memory is backed by huge pages (call after
   * touching it). Reads `/proc/self/smaps`, which the kernel builds by walking
   * every mapping of the process: a few milliseconds in a Node process. The
   * count is per mapping: a neighbouring region with the same flags that the
   * kernel merged into ours counts too.
   */
  hugePages(): boolean {
    let smaps: string
    try {
      smaps = readFileSync('/proc/self/smaps', 'latin1')
    } catch {
      return false
    }
    return anonHugeKiB(smaps, this.addr) > 0
  }

  /** {@link hugePages}, with `/proc/self/smaps` read on the threadpool. */
  async hugePagesAsync(): Promise<boolean> {
    const smaps = await readFile('/proc/self/smaps', 'latin1').catch(() => '')
    return anonHugeKiB(smaps, this.addr) > 0
  }

  /** Unmaps the region. Idempotent; `bytes` must not be touched afterwards. */
  release(): void {
    if (!this.mapped) return
    this.mapped = false
    munmap(this.addr, this.length)
  }
}

/** True unless the system turned transparent huge pages off (`never`). */
export function thpPossible(): boolean {
  try {
    return !readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'latin1').includes('[never]')
  } catch {
    return false
  }
}

/** `AnonHugePages` of the mapping in `smaps` that contains `addr`, in KiB (0 when unknown). */
function anonHugeKiB(smaps: string, addr: number): number {
  for (const m of smaps.matchAll(/^([0-9a-f]+)-([0-9a-f]+) [^\n]*\n((?:[A-Z][^\n]*\n)*)/gm)) {
    if (addr < parseInt(m[1]!, 16) || addr >= parseInt(m[2]!, 16)) continue
    const huge = /^AnonHugePages:\s+(\d+) kB/m.exec(m[3]!)
    return huge === null ? 0 : Number(huge[1])
  }
  return 0
}
