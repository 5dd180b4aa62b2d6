/**
 * An open file: positional reads and writes, an append cursor the `File`
 * owns, metadata, sync and close. Get one from {@link open}.
 *
 * @packageDocumentation
 */
import {
  close as closeFd,
  EBADF,
  fsync,
  getProactor,
  IoError,
  libc,
  run,
  threadpoolCall,
  type OperationOptions,
  type Op,
  type ThreadpoolCallback,
} from '@ringio/core/transport'
import { checkBufs, checkBytes, checkInt, checkOffset, checkOpts, MAX_OFFSET, toBytes } from './args.js'
import { checkDirect, type DirectAlignment } from './direct.js'
import type { ParsedFlags } from './flags.js'
import { fstat, type FileStat } from './stat.js'
import { startRw, type RwOwner } from './rw-op.js'
import { readvFull, writevFull } from './transfer.js'

const FALLOC_FL_KEEP_SIZE = 1
const done = (): void => undefined

/** Options of every `File` operation. */
export type FileOpOptions = OperationOptions

/**
 * An open file. Every transfer names its offset: the kernel's file position
 * is never used, so operations issued concurrently never disturb each other
 * (DESIGN.md principle 6). Get one from {@link open}; close it with
 * {@link File.close}.
 *
 * ## Example
 * ```ts
 * import { open } from '@ringio/fs'
 * const f = await open('/var/tmp/log.bin', 'a+')
 * await Promise.all([f.append('one\n'), f.append('two\n')])  // on disk in call order
 * const buf = Buffer.alloc(8)
 * const n = await f.read(buf, 0)                             // 8, or fewer at end of file
 * await f.close()
 * ```
 *
 * # Errors
 * Bad arguments throw `TypeError`/`RangeError` at the call site (so does a
 * misaligned transfer on a `direct` file). Operations reject with
 * {@link IoError} carrying the file's path: `EBADF` once the file is closed
 * (nothing is submitted) or for a write on a read-only file, `EISDIR` for a
 * read of a directory, `ENOSPC`, `EIO`…
 *
 * # Cancel safety
 * Every operation takes `{ signal }`: aborting cancels what is in the kernel
 * and rejects with the signal's reason. A cancelled read may have filled part
 * of the buffer; a cancelled write may have written part of its bytes (file
 * data is not a stream: nothing after it is shifted).
 */
export class File {
  /** The path it was opened with. */
  readonly path: string
  /** True when opened with `O_DIRECT` (`direct: true`). */
  readonly direct: boolean
  /** True when the flags allow reading. */
  readonly readable: boolean
  /** True when the flags allow writing. */
  readonly writable: boolean
  /** What O_DIRECT transfers must be aligned to (`{ memory: 1, offset: 1 }` for a buffered file). */
  readonly alignment: DirectAlignment
  private _fd: number
  private cursor: number
  /** 0 for a buffered file; for O_DIRECT, the granularity at which a short transfer can be resumed. */
  private readonly block: number
  private inflight = 0
  private closing: Promise<void> | null = null
  private drained: (() => void) | null = null
  /** What the hot-path operations report to (`rw-op.ts`). */
  private readonly owner: RwOwner

  /** @internal Use {@link open}. */
  constructor(fd: number, path: string, flags: ParsedFlags, cursor: number, alignment: DirectAlignment) {
    this._fd = fd
    this.path = path
    this.direct = flags.direct
    this.readable = flags.readable
    this.writable = flags.writable
    this.cursor = cursor
    this.alignment = alignment
    this.block = flags.direct ? Math.max(alignment.memory, alignment.offset) : 0
    this.owner = { path, opDone: () => this.settle() }
  }

  /** The descriptor, or -1 once `close()` was called. The `File` owns it: do not close it yourself. */
  get fd(): number {
    return this.closing === null ? this._fd : -1
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.closing !== null
  }

  /** Where the next {@link File.append} will write: the file size at open, advanced by every append and set by `truncate`. */
  get appendOffset(): number {
    return this.cursor
  }

  /**
   * Reads into `buf` at `offset`, filling it unless the file ends first.
   * Resolves with the bytes read: fewer than `buf.length` means end of file
   * (0 at or past it) — never an error.
   *
   * @throws RangeError for a negative offset, or a misaligned buffer, offset or length on a `direct` file
   * @returns rejects with `IoError` (`EBADF` closed or write-only, `EISDIR`, `EIO`…) or the abort reason
   */
  read(buf: Uint8Array, offset: number, opts?: FileOpOptions): Promise<number> {
    checkBytes('buf', buf)
    const off = checkOffset('offset', offset)
    const o = checkOpts(opts)
    if (this.direct) checkDirect('read', this.path, this.alignment, [buf], off)
    return this.transfer(false, 'read', buf, off, o, -1)
  }

  /**
   * Writes all of `data` at `offset` (a string is written as UTF-8); resolves
   * with its length. Short writes are resumed; do not modify `data` until
   * the Promise settles.
   *
   * @throws RangeError for a negative offset, or a misaligned buffer, offset or length on a `direct` file
   * @returns rejects with `IoError` (`EBADF` closed or read-only, `ENOSPC`, `EFBIG`, `EIO`…) or the abort reason
   */
  write(data: Uint8Array | string, offset: number, opts?: FileOpOptions): Promise<number> {
    const buf = toBytes('data', data)
    const off = checkOffset('offset', offset)
    const o = checkOpts(opts)
    if (this.direct) checkDirect('write', this.path, this.alignment, [buf], off)
    return this.transfer(true, 'write', buf, off, o, -1)
  }

  /**
   * Reads into `buffers` in order, starting at `offset` (`preadv`), until
   * they are full or the file ends. Resolves with the total bytes read.
   * @throws TypeError/RangeError as {@link File.read}; at most 1024 buffers
   */
  readv(buffers: Uint8Array[], offset: number, opts?: FileOpOptions): Promise<number> {
    const bufs = checkBufs('buffers', buffers)
    const off = checkOffset('offset', offset)
    const o = checkOpts(opts)
    if (this.direct) checkDirect('readv', this.path, this.alignment, bufs, off)
    return this.track('readv', (fd) => readvFull(fd, bufs, off, o, this.block))
  }

  /**
   * Writes `buffers` back to back, starting at `offset` (`pwritev`); resolves
   * with the total bytes, all of them written.
   * @throws TypeError/RangeError as {@link File.write}; at most 1024 buffers
   */
  writev(buffers: Uint8Array[], offset: number, opts?: FileOpOptions): Promise<number> {
    const bufs = checkBufs('buffers', buffers)
    const off = checkOffset('offset', offset)
    const o = checkOpts(opts)
    if (this.direct) checkDirect('writev', this.path, this.alignment, bufs, off)
    return this.track('writev', (fd) => writevFull(fd, bufs, off, o, this.block))
  }

  /**
   * Writes `data` at the append cursor and advances the cursor by its length
   * — at call time, synchronously. Concurrent appends from any number of
   * producers therefore never overlap, and land on disk in call order
   * whatever order the kernel completes them in. Resolves with the offset
   * `data` was written at.
   *
   * The cursor starts at the file's size at open (0 for `'w'`), and belongs to
   * this `File`: the kernel's `O_APPEND` is not used, so other processes (or
   * other `File`s) appending to the same file at the same time are not
   * coordinated with it.
   *
   * ## Example
   * ```ts
   * const log = await open('app.log', 'a')
   * for (const line of lines) void log.append(`${line}\n`)   // in this order, whole
   * ```
   * # Cancel safety
   * An aborted or failed append keeps its place: the cursor is not rewound
   * (later appends already took the following bytes), so the file keeps a
   * hole of zeros (or part of the data) there.
   *
   * @throws RangeError on a `direct` file when the cursor or length is not aligned
   * @returns the offset written at; rejects with `IoError` (`EBADF` when closed or not writable — the cursor then does not move)
   */
  append(data: Uint8Array | string, opts?: FileOpOptions): Promise<number> {
    const buf = toBytes('data', data)
    const o = checkOpts(opts)
    const at = this.cursor
    if (this.direct) checkDirect('append', this.path, this.alignment, [buf], at)
    if (this.closing !== null) return Promise.reject(this.closedError('append'))
    if (!this.writable) return Promise.reject(new IoError(EBADF, 'append', this.path, { message: `append failed: EBADF (${this.path}): the file is not open for writing` }))
    if (at + buf.length > MAX_OFFSET) throw new RangeError(`append: the cursor would pass 2^53 bytes`)
    this.cursor = at + buf.length
    if (buf.length === 0) return Promise.resolve(at)
    return this.transfer(true, 'write', buf, at, o, at)
  }

  /**
   * The file's metadata (`statx` on the fd: IORING_OP_STATX on the ring, a
   * threadpool call on the poll backend).
   * @returns rejects with `IoError` (`EBADF` when closed) or the abort reason
   */
  stat(opts?: FileOpOptions): Promise<FileStat> {
    const o = checkOpts(opts)
    return this.track('stat', (fd) => fstat(fd, this.path, o))
  }

  /**
   * Sets the file's size to `length` (`ftruncate`): cuts it, or extends it with
   * zeros. Moves the append cursor to `length` at call time, so later appends
   * continue at the new end; await earlier appends first, or one still in
   * flight may extend the file again. IORING_OP_FTRUNCATE on the ring where
   * the kernel has it (Linux 6.9+), else a threadpool call.
   * @returns rejects with `IoError` (`EBADF` closed, `EINVAL` when not open for writing, `EFBIG`…) or the abort reason
   */
  truncate(length = 0, opts?: FileOpOptions): Promise<void> {
    const len = checkOffset('length', length)
    const o = checkOpts(opts)
    if (this.closing === null) this.cursor = len
    return this.track('truncate', (fd) =>
      this.ringOr({ kind: 'ftruncate', fd, length: len }, 'truncate', o, (cb) => libc.ftruncate.async(fd, len, cb)),
    ).then(done)
  }

  /**
   * Reserves disk space for `[offset, offset + length)` (`fallocate`), so later
   * writes there cannot fail with `ENOSPC`. The size grows to cover the range
   * unless `keepSize`; the append cursor does not move, so appends fill the
   * reserved space from where they were. IORING_OP_FALLOCATE on the ring.
   *
   * ## Example
   * ```ts
   * const f = await open('/var/tmp/big.bin', 'w')
   * await f.allocate(0, 1 << 30, { keepSize: true })   // 1 GiB reserved, size still 0
   * ```
   * @throws RangeError for a negative offset or a length below 1
   * @returns rejects with `IoError` (`EOPNOTSUPP` where the file system cannot, `ENOSPC`, `EBADF` when closed or read-only…) or the abort reason
   */
  allocate(offset: number, length: number, opts?: FileOpOptions & { keepSize?: boolean }): Promise<void> {
    const off = checkOffset('offset', offset)
    const len = checkInt('length', length, 1, MAX_OFFSET - off)
    const o = checkOpts(opts)
    if (opts?.keepSize !== undefined && typeof opts.keepSize !== 'boolean') throw new TypeError('keepSize must be a boolean')
    const mode = opts?.keepSize === true ? FALLOC_FL_KEEP_SIZE : 0
    return this.track('allocate', (fd) =>
      this.ringOr({ kind: 'fallocate', fd, mode, offset: off, length: len }, 'allocate', o, (cb) =>
        libc.fallocate.async(fd, mode, off, len, cb),
      ),
    ).then(done)
  }

  /** Flushes data and metadata to the device (`fsync`, on the ring). Rejects with `IoError`. */
  sync(opts?: FileOpOptions): Promise<void> {
    const o = checkOpts(opts)
    return this.track('fsync', (fd) => fsync(fd, false, o)).then(done)
  }

  /** Flushes data, and only the metadata needed to read it back (`fdatasync`, on the ring). Rejects with `IoError`. */
  datasync(opts?: FileOpOptions): Promise<void> {
    const o = checkOpts(opts)
    return this.track('fdatasync', (fd) => fsync(fd, true, o)).then(done)
  }

  /**
   * Closes the file. Operations started before keep running and settle
   * normally; `close` waits for them, then closes the descriptor (so its
   * number is never reused while an operation still names it). Operations
   * started after it reject with `IoError` `EBADF` without reaching the kernel.
   * Idempotent: every call returns the same Promise.
   */
  close(): Promise<void> {
    if (this.closing === null) this.closing = this.finishClose()
    return this.closing
  }

  private async finishClose(): Promise<void> {
    if (this.inflight > 0) await new Promise<void>((resolve) => (this.drained = resolve))
    const fd = this._fd
    this._fd = -1
    try {
      await closeFd(fd)
    } catch (err) {
      throw this.withPath(err)
    }
  }

  /**
   * A whole read or write on the hot path (`rw-op.ts`): one Promise, no
   * intermediate ones; counted in flight so `close` can wait.
   */
  private transfer(isWrite: boolean, op: string, buf: Uint8Array, off: number, o: FileOpOptions | undefined, result: number): Promise<number> {
    if (this.closing !== null) return Promise.reject(this.closedError(op))
    if (buf.length === 0) return Promise.resolve(0)
    this.inflight++
    return startRw(this.owner, isWrite, op, this._fd, buf, off, this.block, o?.signal, o?.ref, result)
  }

  /** Runs `body` with the fd unless the file is closed; counts it in flight so `close` can wait. */
  private track<T>(op: string, body: (fd: number) => Promise<T>): Promise<T> {
    if (this.closing !== null) return Promise.reject(this.closedError(op))
    this.inflight++
    let p: Promise<T>
    try {
      p = body(this._fd)
    } catch (err) {
      this.settle()
      return Promise.reject(err)
    }
    return p.then(
      (v) => {
        this.settle()
        return v
      },
      (err: unknown) => {
        this.settle()
        throw this.withPath(err)
      },
    )
  }

  private settle(): void {
    if (--this.inflight === 0 && this.drained !== null) {
      this.drained()
      this.drained = null
    }
  }

  /**
   * Runs `ring` on the proactor where it supports that op, else `pool`
   * (the plain syscall through koffi) on the threadpool: FTRUNCATE, for one,
   * is only in Linux 6.9+. Errors name `op` and the file's path.
   */
  private async ringOr(
    ring: Op,
    op: string,
    o: FileOpOptions | undefined,
    pool: (cb: ThreadpoolCallback) => void,
  ): Promise<number> {
    if (getProactor().supports(ring.kind)) return run(ring, o, { op, handle: (ring as { fd: number }).fd })
    const r = await threadpoolCall(pool, o?.signal)
    if (r < 0) throw new IoError(-r, op, this.path)
    return r
  }

  private closedError(op: string): IoError {
    return new IoError(EBADF, op, this.path, { message: `${op} failed: EBADF (${this.path}): the file is closed` })
  }

  /** Core names the fd in its errors; a path says more. */
  private withPath(err: unknown): unknown {
    if (!IoError.is(err) || typeof err.handle !== 'number') return err
    const msg = err.message.replace(`(fd ${err.handle})`, `(${this.path})`)
    return new IoError(err.errno, err.op, this.path, { cause: err, message: msg })
  }
}
