/**
 * Whole transfers at an offset: a read that fills its buffer unless the file
 * ends, a write that moves every byte, resuming after short completions from
 * the exact byte where they stopped (always at an explicit offset — never the
 * kernel's file position).
 *
 * @packageDocumentation
 */
import { IoError, read, readv, write, writev, type OperationOptions } from '@ringio/core'

/** Linux moves at most this many bytes per read/write (MAX_RW_COUNT); it is page-aligned, so O_DIRECT is safe. */
export const MAX_RW = 0x7ffff000
const EIO = 5

/**
 * Reads into all of `buf` at `offset`; resolves with the bytes read, fewer
 * only at end of file.
 *
 * `block` is 0 for a buffered file. For O_DIRECT it is the larger of the
 * memory and offset alignments: io_uring may complete an O_DIRECT read short
 * in mid-file (a NOWAIT attempt that got part of the way), and the rest is
 * read only when the resume point is still aligned. An unaligned short count
 * can only be the end of the file.
 */
export function readFull(fd: number, buf: Uint8Array, offset: number, opts: OperationOptions | undefined, block: number): Promise<number> {
  if (buf.length === 0) return Promise.resolve(0)
  const want = Math.min(buf.length, MAX_RW)
  const first = read(fd, want === buf.length ? buf : buf.subarray(0, want), offset, opts)
  // Fast path: one operation did it all (or hit EOF), as for nearly every read of a regular file.
  return first.then((n) => (n === buf.length || n === 0 || !resumable(n, block) ? n : readRest(fd, buf, offset, n, opts, block)))
}

/** Whether a transfer that moved `n` bytes can go on from there. */
function resumable(n: number, block: number): boolean {
  return block === 0 || n % block === 0
}

async function readRest(fd: number, buf: Uint8Array, offset: number, done: number, opts: OperationOptions | undefined, block: number): Promise<number> {
  while (done < buf.length) {
    const want = Math.min(buf.length - done, MAX_RW)
    const n = await read(fd, buf.subarray(done, done + want), offset + done, opts)
    done += n
    if (n === 0 || !resumable(done, block)) break
  }
  return done
}

/**
 * Writes all of `buf` at `offset`; resolves with `buf.length`. A write that
 * moves nothing, or (O_DIRECT, `block` > 0) stops at an unaligned point,
 * rejects with `EIO`.
 */
export function writeFull(fd: number, buf: Uint8Array, offset: number, opts: OperationOptions | undefined, block: number): Promise<number> {
  if (buf.length === 0) return Promise.resolve(0)
  const want = Math.min(buf.length, MAX_RW)
  const first = write(fd, want === buf.length ? buf : buf.subarray(0, want), offset, opts)
  return first.then((n) => (n === buf.length ? n : writeRest(fd, buf, offset, n, opts, block)))
}

async function writeRest(fd: number, buf: Uint8Array, offset: number, done: number, opts: OperationOptions | undefined, block: number): Promise<number> {
  for (;;) {
    stuck('write', fd, done, buf.length, block)
    if (done === buf.length) return done
    const want = Math.min(buf.length - done, MAX_RW)
    const n: number = await write(fd, buf.subarray(done, done + want), offset + done, opts)
    if (n === 0) throw new IoError(EIO, 'write', fd, { message: `write failed: EIO (fd ${fd}): the kernel wrote 0 of ${want} bytes` })
    done += n
  }
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
