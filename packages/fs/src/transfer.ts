/**
 * Whole vectored transfers at an offset (`File.read`/`write` have their own
 * hot path, `rw-op.ts`): a readv that fills its buffers unless the file
 * ends, a writev that moves every byte, resuming after short completions from
 * the exact byte where they stopped (always at an explicit offset — never the
 * kernel's file position).
 *
 * @packageDocumentation
 */
import { EIO, IoError, readv, writev, type OperationOptions } from '@ringio/core/transport'

/** Linux moves at most this many bytes per read/write (MAX_RW_COUNT); it is page-aligned, so O_DIRECT is safe. */
export const MAX_RW = 0x7ffff000

/** Whether a transfer that moved `n` bytes can go on from there. */
function resumable(n: number, block: number): boolean {
  return block === 0 || n % block === 0
}

/** Throws `EIO` when a short O_DIRECT write stopped where it cannot be resumed. */
function stuck(op: string, fd: number, done: number, total: number, block: number): void {
  if (done < total && !resumable(done, block)) {
    throw new IoError(EIO, op, fd, { message: `${op} failed: EIO (fd ${fd}): O_DIRECT write stopped at unaligned byte ${done} of ${total}` })
  }
}

/** `bufs` without the first `n` bytes (whole buffers dropped, the next one sliced). */
export function advance(bufs: readonly Uint8Array[], n: number): Uint8Array[] {
  let i = 0
  while (i < bufs.length && n >= bufs[i]!.length) n -= bufs[i++]!.length
  const rest = bufs.slice(i)
  if (rest.length > 0 && n > 0) rest[0] = rest[0]!.subarray(n)
  return rest
}

function total(bufs: readonly Uint8Array[]): number {
  let t = 0
  for (const b of bufs) t += b.length
  return t
}

/** `preadv` until every buffer is full or the file ends; resolves with the total bytes read. */
export async function readvFull(fd: number, bufs: readonly Uint8Array[], offset: number, opts: OperationOptions | undefined, block: number): Promise<number> {
  // Zero-length buffers have nothing for the kernel to do (and may have no backing store).
  let rest = bufs.filter((b) => b.length > 0)
  const want = total(rest)
  let done = 0
  while (done < want) {
    const n = await readv(fd, rest, offset + done, opts)
    done += n
    // Each buffer is block-aligned on a direct file, so an aligned `done` leaves aligned remainders.
    if (n === 0 || !resumable(done, block)) break
    rest = advance(rest, n)
  }
  return done
}

/** `pwritev` until every byte is written; resolves with the total. */
export async function writevFull(fd: number, bufs: readonly Uint8Array[], offset: number, opts: OperationOptions | undefined, block: number): Promise<number> {
  let rest = bufs.filter((b) => b.length > 0)
  const want = total(rest)
  let done = 0
  while (done < want) {
    stuck('writev', fd, done, want, block)
    const n = await writev(fd, rest, offset + done, opts)
    if (n === 0) throw new IoError(EIO, 'writev', fd, { message: `writev failed: EIO (fd ${fd}): the kernel wrote 0 bytes` })
    done += n
    rest = advance(rest, n)
  }
  return done
}
