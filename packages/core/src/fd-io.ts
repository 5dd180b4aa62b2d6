/**
 * One-shot I/O on a file descriptor, as Promises: positional reads and writes
 * (an explicit offset, never the shared file position unless you pass -1),
 * vectored variants, fsync, open and close, and splice between a pipe and
 * another fd inside the kernel. The building blocks of
 * `@ringio/fs` and `@ringio/tty`; usable directly on any fd.
 *
 * @packageDocumentation
 */
import { checkBytes, checkInt } from './errors.js'
import { run, type OperationOptions } from './operation.js'
import { SPLICE_F_MOVE } from './ops/splice.js'
import { O_CLOEXEC } from './sys/libc.js'

const MAX_LEN = 0x7ffff000 // Linux caps one read/write at this many bytes
const MAX_OFFSET = Number.MAX_SAFE_INTEGER

function checkFd(fd: unknown): number {
  return checkInt('fd', fd, 0, 0x7fffffff)
}
function checkOffset(offset: unknown): number {
  return checkInt('offset', offset, -1, MAX_OFFSET)
}
function checkBuf(name: string, buf: unknown): Uint8Array {
  const b = checkBytes(name, buf)
  if (b.length > MAX_LEN) throw new RangeError(`${name} is ${b.length} bytes; one operation moves at most ${MAX_LEN}`)
  return b
}
function checkBufs(bufs: unknown): Uint8Array[] {
  if (!Array.isArray(bufs) || bufs.length === 0 || bufs.length > 1024) {
    throw new TypeError('buffers must be a non-empty array of at most 1024 Buffers')
  }
  return bufs.map((b, i) => checkBuf(`buffers[${i}]`, b))
}

/** A no-op round trip through the proactor; resolves with 0. */
export function nop(opts?: OperationOptions): Promise<number> {
  return run({ kind: 'nop' }, opts)
}

/**
 * Reads into `buf` at `offset` (-1: at the fd's own position, for pipes,
 * sockets and TTYs). Resolves with the bytes read; 0 at end of file. A read
 * past the end of a file is a short read, not an error.
 *
 * @throws TypeError / RangeError at the call site for a bad fd, buffer or offset
 * @returns bytes read; rejects with `IoError` (`EBADF`, `EISDIR`, …) or the abort reason
 */
export function read(fd: number, buf: Uint8Array, offset = -1, opts?: OperationOptions): Promise<number> {
  const f = checkFd(fd)
  const b = checkBuf('buf', buf)
  const o = checkOffset(offset)
  return run({ kind: 'read', fd: f, buf: b, offset: o }, opts)
}

/** Writes `buf` at `offset` (-1: at the fd's position). Resolves with the bytes written, which may be fewer. */
export function write(fd: number, buf: Uint8Array, offset = -1, opts?: OperationOptions): Promise<number> {
  const f = checkFd(fd)
  const b = checkBuf('buf', buf)
  const o = checkOffset(offset)
  return run({ kind: 'write', fd: f, buf: b, offset: o }, opts)
}

/** Reads into several buffers at `offset` (`preadv`). Resolves with the total bytes read. */
export function readv(fd: number, buffers: Uint8Array[], offset = -1, opts?: OperationOptions): Promise<number> {
  const f = checkFd(fd)
  const bs = checkBufs(buffers)
  const o = checkOffset(offset)
  return run({ kind: 'readv', fd: f, bufs: bs, offset: o }, opts)
}

/** Writes several buffers at `offset` (`pwritev`). Resolves with the total bytes written, which may be fewer. */
export function writev(fd: number, buffers: Uint8Array[], offset = -1, opts?: OperationOptions): Promise<number> {
  const f = checkFd(fd)
  const bs = checkBufs(buffers)
  const o = checkOffset(offset)
  return run({ kind: 'writev', fd: f, bufs: bs, offset: o }, opts)
}

/** `fsync` (or `fdatasync` with `datasync`). */
export function fsync(fd: number, datasync = false, opts?: OperationOptions): Promise<number> {
  const f = checkFd(fd)
  return run({ kind: 'fsync', fd: f, datasync }, opts, { op: datasync ? 'fdatasync' : 'fsync' })
}

const AT_FDCWD = -100

/**
 * Opens `path` (relative paths from the process's cwd) with `open(2)` flags;
 * `O_CLOEXEC` is always added. Resolves with the new fd, which the caller owns.
 */
export function openat(path: string, flags: number, mode = 0o666, opts?: OperationOptions): Promise<number> {
  if (typeof path !== 'string' || path.length === 0 || path.includes('\0')) {
    throw new TypeError('path must be a non-empty string without NUL bytes')
  }
  const fl = checkInt('flags', flags, 0, 0x7fffffff)
  const m = checkInt('mode', mode, 0, 0o7777)
  const cpath = Buffer.from(`${path}\0`)
  return run({ kind: 'openat', dirfd: AT_FDCWD, path: cpath, flags: fl | O_CLOEXEC, mode: m }, opts, { op: 'open', handle: path })
}

/** Closes an fd the caller owns. */
export function close(fd: number, opts?: OperationOptions): Promise<number> {
  const f = checkFd(fd)
  return run({ kind: 'close', fd: f }, opts)
}

/**
 * Moves up to `len` bytes from `fdIn` to `fdOut` inside the kernel
 * (`splice(2)`, IORING_OP_SPLICE); one of the two must be a pipe. Nothing
 * passes through JavaScript: from pipe to pipe the kernel moves page
 * references. Resolves with the bytes moved, 0 at the end of the input,
 * fewer than `len` when the pipe held or took fewer (call again).
 *
 * Changes no flag of either fd, so it is safe on inherited stdin and stdout.
 * On io_uring the kernel runs it in a worker thread that blocks on an empty
 * input or a full output pipe; on the poll backend it waits for the input
 * to be readable, then runs on the threadpool.
 *
 * One call is one io_uring SPLICE, which the kernel always runs in a worker
 * thread: about 100 µs per call. To copy a whole pipe into another, use
 * `splicePipes()`, which runs at the speed of `cat`.
 *
 * ## Example
 * ```ts
 * // 4 KiB of a file, from byte 4096, into a pipe:
 * const n = await splice(fileFd, pipeWriteFd, 4096, { offIn: 4096 })
 * ```
 *
 * @param opts `offIn`, `offOut`: offsets in `fdIn` and `fdOut` (-1, the default, for a pipe or the
 *   file's position); `flags`: `SPLICE_F_*` (default `SPLICE_F_MOVE`); `signal`, `ref` as every operation
 * @throws TypeError / RangeError at the call site for a bad fd, length or offset
 * @returns bytes moved; rejects with `IoError` (`EPIPE` when the output pipe has no reader,
 *   `EINVAL` when neither fd is a pipe, `EBADF`…) or, aborted, with the signal's reason
 *   (the kernel's worker is interrupted)
 */
export function splice(fdIn: number, fdOut: number, len: number, opts?: OperationOptions & { offIn?: number; offOut?: number; flags?: number }): Promise<number> {
  const fi = checkFd(fdIn)
  const fo = checkFd(fdOut)
  const n = checkInt('len', len, 0, MAX_LEN)
  const offIn = checkOffset(opts?.offIn ?? -1)
  const offOut = checkOffset(opts?.offOut ?? -1)
  const flags = checkInt('flags', opts?.flags ?? SPLICE_F_MOVE, 0, 0xffffffff)
  return run({ kind: 'splice', fdIn: fi, offIn, fdOut: fo, offOut, len: n, flags }, opts)
}
