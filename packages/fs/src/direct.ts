/**
 * O_DIRECT's rules, checked before anything is submitted: the kernel answers
 * a misaligned transfer with a bare `EINVAL` after the round trip; we answer
 * at the call site with a `RangeError` that says which of address, offset or
 * length is wrong.
 *
 * @packageDocumentation
 */
import { isAlignedBuffer, PAGE_SIZE } from './aligned.js'

/** What O_DIRECT transfers on a file must be aligned to. */
export interface DirectAlignment {
  /** Buffer addresses must be multiples of this (`statx` `dio_mem_align`). */
  readonly memory: number
  /** File offsets and lengths must be multiples of this (`statx` `dio_offset_align`: the logical block size). */
  readonly offset: number
}

/** Used when the file system does not report its O_DIRECT alignment: the page size satisfies all of them. */
export const DEFAULT_ALIGNMENT: DirectAlignment = { memory: PAGE_SIZE, offset: PAGE_SIZE }

/** No constraint (a buffered file). */
export const NO_ALIGNMENT: DirectAlignment = { memory: 1, offset: 1 }

/**
 * Throws a `RangeError` naming the culprit unless `bufs` and `offset` satisfy
 * `al`. `op` and `path` go into the message.
 */
export function checkDirect(op: string, path: string, al: DirectAlignment, bufs: readonly Uint8Array[], offset: number): void {
  if (offset % al.offset !== 0) {
    throw new RangeError(`${op} ${path}: O_DIRECT offset ${offset} is not a multiple of ${al.offset}`)
  }
  for (let i = 0; i < bufs.length; i++) {
    const b = bufs[i]!
    const which = bufs.length === 1 ? 'buffer' : `buffers[${i}]`
    if (b.length % al.offset !== 0) {
      throw new RangeError(`${op} ${path}: O_DIRECT ${which} length ${b.length} is not a multiple of ${al.offset}`)
    }
    if (!isAlignedBuffer(b, al.memory)) {
      throw new RangeError(
        `${op} ${path}: O_DIRECT ${which} address is not a multiple of ${al.memory} (use allocAligned() or an AlignedPool)`,
      )
    }
  }
}
