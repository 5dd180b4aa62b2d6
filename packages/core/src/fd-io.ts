/**
 * One-shot I/O on a file descriptor, as Promises: positional reads and writes
 * (an explicit offset, never the shared file position unless you pass -1),
 * vectored variants, fsync, open and close. The building blocks of
 * `@ringio/fs` and `@ringio/tty`; usable directly on any fd.
 *
 * @packageDocumentation
 */
import { checkBytes, checkInt } from './errors.js'
import { run, startOpts, type OperationOptions } from './operation.js'
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
  return run('nop', undefined, opts, (p, c) => p.nop(c, startOpts(opts)))
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
  return run('read', f, opts, (p, c) => p.read(f, b, o, c, startOpts(opts)))
}

/** Writes `buf` at `offset` (-1: at the fd's position). Resolves with the bytes written, which may be fewer. */
export function write(fd: number, buf: Uint8Array, offset = -1, opts?: OperationOptions): Promise<number> {
  const f = checkFd(fd)
  const b = checkBuf('buf', buf)
  const o = checkOffset(offset)
  return run('write', f, opts, (p, c) => p.write(f, b, o, c, startOpts(opts)))
}

/** Reads into several buffers at `offset` (`preadv`). Resolves with the total bytes read. */
export function readv(fd: number, buffers: Uint8Array[], offset = -1, opts?: OperationOptions): Promise<number> {
  const f = checkFd(fd)
  const bs = checkBufs(buffers)
  const o = checkOffset(offset)
  return run('readv', f, opts, (p, c) => p.readv(f, bs, o, c, startOpts(opts)))
}

/** Writes several buffers at `offset` (`pwritev`). Resolves with the total bytes written, which may be fewer. */
export function writev(fd: number, buffers: Uint8Array[], offset = -1, opts?: OperationOptions): Promise<number> {
  const f = checkFd(fd)
  const bs = checkBufs(buffers)
  const o = checkOffset(offset)
  return run('writev', f, opts, (p, c) => p.writev(f, bs, o, c, startOpts(opts)))
}

/** `fsync` (or `fdatasync` with `datasync`). */
export function fsync(fd: number, datasync = false, opts?: OperationOptions): Promise<number> {
  const f = checkFd(fd)
  return run(datasync ? 'fdatasync' : 'fsync', f, opts, (p, c) => p.fsync(f, datasync, c, startOpts(opts)))
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
  return run('open', path, opts, (p, c) => p.openat(AT_FDCWD, cpath, fl | O_CLOEXEC, m, c, startOpts(opts)))
}

/** Closes an fd the caller owns. */
export function close(fd: number, opts?: OperationOptions): Promise<number> {
  const f = checkFd(fd)
  return run('close', f, opts, (p, c) => p.close(f, c, startOpts(opts)))
}
