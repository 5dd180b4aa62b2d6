/**
 * File metadata through `statx(2)`, of an open fd or of a path: size, type,
 * mode, times, and the O_DIRECT alignment the file system reports
 * (`STATX_DIOALIGN`). On the ring (IORING_OP_STATX) where the backend has it,
 * else on the threadpool.
 *
 * @packageDocumentation
 */
import { addressOf, getProactor, IoError, libc, run, threadpoolCall, type OperationOptions } from '@ringio/core/transport'
import { fileURLToPath } from 'node:url'
import { checkOpts } from './args.js'
import { AT_EMPTY_PATH } from './sys.js'
import type { DirectAlignment } from './direct.js'

/** The kind of file. */
export type FileType = 'file' | 'directory' | 'symlink' | 'fifo' | 'socket' | 'char' | 'block' | 'unknown'

/** What {@link File.stat} resolves with. */
export interface FileStat {
  /** The kind of file (from `mode`). */
  readonly type: FileType
  /** Size in bytes. */
  readonly size: number
  /** `st_mode`: type and permission bits. */
  readonly mode: number
  /** Hard links. */
  readonly nlink: number
  /** Owner's user id. */
  readonly uid: number
  /** Owner's group id. */
  readonly gid: number
  /** Inode number. */
  readonly ino: bigint
  /** 512-byte blocks allocated (smaller than `size / 512` for a sparse file). */
  readonly blocks: number
  /** The preferred I/O size (`st_blksize`). */
  readonly blockSize: number
  /** Last access. */
  readonly atime: Date
  /** Last modification of the data. */
  readonly mtime: Date
  /** Last status change (metadata or data). */
  readonly ctime: Date
  /** Creation, when the file system records it (`undefined` otherwise). */
  readonly birthtime: Date | undefined
  /** Modification time in nanoseconds since the epoch (full precision). */
  readonly mtimeNs: bigint
  /** O_DIRECT alignment, when the file system reports it (Linux ≥ 6.1, ext4/xfs/btrfs…). */
  readonly directAlignment: DirectAlignment | undefined
}

// struct statx (include/uapi/linux/stat.h)
const STX = {
  mask: 0,
  blksize: 4,
  nlink: 16,
  uid: 20,
  gid: 24,
  mode: 28,
  ino: 32,
  size: 40,
  blocks: 48,
  atime: 64,
  btime: 80,
  ctime: 96,
  mtime: 112,
  dio_mem_align: 152,
  dio_offset_align: 156,
  SIZE: 256,
} as const
const STATX_BASIC_STATS = 0x7ff
const STATX_BTIME = 0x800
const STATX_DIOALIGN = 0x2000

const TYPES: Record<number, FileType> = {
  0o100000: 'file',
  0o040000: 'directory',
  0o120000: 'symlink',
  0o010000: 'fifo',
  0o140000: 'socket',
  0o020000: 'char',
  0o060000: 'block',
}

function time(b: Buffer, at: number): Date {
  return new Date(Number(b.readBigInt64LE(at)) * 1000 + b.readUInt32LE(at + 8) / 1e6)
}

/** Decodes a `struct statx`. */
export function decodeStatx(b: Buffer): FileStat {
  const mask = b.readUInt32LE(STX.mask)
  const mode = b.readUInt16LE(STX.mode)
  const memAlign = b.readUInt32LE(STX.dio_mem_align)
  const offAlign = b.readUInt32LE(STX.dio_offset_align)
  return {
    type: TYPES[mode & 0o170000] ?? 'unknown',
    size: Number(b.readBigUInt64LE(STX.size)),
    mode,
    nlink: b.readUInt32LE(STX.nlink),
    uid: b.readUInt32LE(STX.uid),
    gid: b.readUInt32LE(STX.gid),
    ino: b.readBigUInt64LE(STX.ino),
    blocks: Number(b.readBigUInt64LE(STX.blocks)),
    blockSize: b.readUInt32LE(STX.blksize),
    atime: time(b, STX.atime),
    mtime: time(b, STX.mtime),
    ctime: time(b, STX.ctime),
    birthtime: (mask & STATX_BTIME) !== 0 ? time(b, STX.btime) : undefined,
    mtimeNs: b.readBigInt64LE(STX.mtime) * 1_000_000_000n + BigInt(b.readUInt32LE(STX.mtime + 8)),
    // Zero means "no direct I/O on this file" (statx(2)); then callers fall back to the page size.
    directAlignment:
      (mask & STATX_DIOALIGN) !== 0 && memAlign > 0 && offAlign > 0 ? { memory: memAlign, offset: offAlign } : undefined,
  }
}

const MASK = STATX_BASIC_STATS | STATX_BTIME | STATX_DIOALIGN
const AT_FDCWD = -100
const AT_SYMLINK_NOFOLLOW = 0x100
/** The empty C string: with AT_EMPTY_PATH, statx describes the fd itself. Read-only, so one serves every call. */
const EMPTY_PATH = Buffer.from([0])

/** `statx(dirfd, path, flags)` into a fresh buffer, on the ring or the threadpool; rejects with `IoError` naming `handle`. */
async function statxAny(dirfd: number, path: Buffer, flags: number, handle: number | string, opts: OperationOptions | undefined): Promise<FileStat> {
  const buf = Buffer.alloc(STX.SIZE)
  if (getProactor().supports('statx')) {
    await run({ kind: 'statx', dirfd, path, flags, mask: MASK, buf }, opts, { op: 'stat', handle })
  } else {
    // By address: `path` (NUL-terminated) and `buf` stay referenced here until the call returns.
    const r = await threadpoolCall((cb) => libc.statxAt.async(dirfd, addressOf(path), flags, MASK, addressOf(buf), cb), opts?.signal)
    if (r < 0) throw new IoError(-r, 'stat', handle)
  }
  return decodeStatx(buf)
}

/**
 * `statx` of an open fd (`AT_EMPTY_PATH`). Rejects with `IoError` naming
 * `handle` (`EBADF`…).
 */
export function fstat(fd: number, handle: string, opts?: OperationOptions): Promise<FileStat> {
  return statxAny(fd, EMPTY_PATH, AT_EMPTY_PATH, handle, opts)
}

/** Options of {@link stat}. */
export interface StatOptions extends OperationOptions {
  /** When false, a symbolic link is described itself, not the file it points to (`lstat`). Default true. */
  followSymlinks?: boolean
}

/**
 * The metadata of the file at `path` (`statx`), without opening it: on the
 * ring where the kernel has IORING_OP_STATX, else on the threadpool.
 *
 * ## Example
 * ```ts
 * import { stat } from '@ringio/fs'
 * const st = await stat('/var/tmp/data.bin')
 * console.log(st.type, st.size, st.mtime)
 * ```
 *
 * # Errors
 * Rejects with {@link IoError} naming `path`: `ENOENT` (missing), `ENOTDIR`
 * (a path component is not a directory), `EACCES` (a directory on the way is
 * not searchable), `ELOOP`, `ENAMETOOLONG`… Bad arguments throw `TypeError`.
 *
 * # Cancel safety
 * Aborting `signal` cancels the request; a statx the kernel already ran
 * resolves anyway. Nothing changes on disk either way.
 *
 * @param path a path (relative to the process's cwd) or a `file:` URL
 */
export function stat(path: string | URL, opts?: StatOptions): Promise<FileStat> {
  const p = path instanceof URL ? fileURLToPath(path) : path
  if (typeof p !== 'string' || p.length === 0 || p.includes('\0')) {
    throw new TypeError('path must be a non-empty string (or file: URL) without NUL bytes')
  }
  const o = checkOpts(opts)
  const follow = opts?.followSymlinks
  if (follow !== undefined && typeof follow !== 'boolean') throw new TypeError('followSymlinks must be a boolean')
  return statxAny(AT_FDCWD, Buffer.from(`${p}\0`), follow === false ? AT_SYMLINK_NOFOLLOW : 0, p, o)
}
