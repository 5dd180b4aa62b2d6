/**
 * File metadata through `statx(2)` on the open fd: size, type, mode, times,
 * and the O_DIRECT alignment the file system reports (`STATX_DIOALIGN`).
 *
 * @packageDocumentation
 */
import { IoError } from '@ringio/core'
import { gated } from './gate.js'
import { AT_EMPTY_PATH, onThreadpool, statx } from './sys.js'
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

/**
 * `statx` of an open fd, on the threadpool (core has no ring op for it yet).
 * Rejects with `IoError` naming `handle`.
 */
export async function fstat(fd: number, handle: string, signal?: AbortSignal): Promise<FileStat> {
  const buf = Buffer.alloc(STX.SIZE)
  const mask = STATX_BASIC_STATS | STATX_BTIME | STATX_DIOALIGN
  const r = await gated(() => onThreadpool((cb) => statx.async(fd, '', AT_EMPTY_PATH, mask, buf, cb)), signal)
  if (r < 0) throw new IoError(-r, 'stat', handle)
  return decodeStatx(buf)
}
