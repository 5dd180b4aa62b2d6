/**
 * The file-metadata operations of the Proactor contract — statx, fallocate,
 * ftruncate — on whichever backend the vitest project selects, against real
 * files on a block-backed file system (/var/tmp), checked with node:fs.
 */
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { release } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { getProactor, IoError, run, type Completion, type Proactor } from '../src/transport.js'

const BACKEND = process.env['RINGIO_BACKEND'] === 'poll' ? 'poll' : 'uring'
const AT_FDCWD = -100
const AT_EMPTY_PATH = 0x1000
const AT_SYMLINK_NOFOLLOW = 0x100
const STATX_BASIC_STATS = 0x7ff
const FALLOC_FL_KEEP_SIZE = 1
/** An fd number no process has open (far above RLIMIT_NOFILE): every syscall on it is EBADF. */
const BAD_FD = 2 ** 30

let dir = ''
beforeAll(() => {
  dir = mkdtempSync('/var/tmp/ringio-core-meta-')
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const cstr = (s: string): Buffer => Buffer.from(`${s}\0`)
const fdCount = (): number => readdirSync('/proc/self/fd').length


/** The kernel's version as a comparable number: 6.9 → 609. */
function kernel(): number {
  const [maj, min] = release().split('.').map(Number)
  return maj! * 100 + min!
}

/** struct statx fields the tests compare (include/uapi/linux/stat.h). */
function decode(b: Buffer): { mask: number; mode: number; size: number; blocks: number; mtimeMs: number; ino: bigint } {
  return {
    mask: b.readUInt32LE(0),
    mode: b.readUInt16LE(28),
    ino: b.readBigUInt64LE(32),
    size: Number(b.readBigUInt64LE(40)),
    blocks: Number(b.readBigUInt64LE(48)),
    mtimeMs: Number(b.readBigInt64LE(112)) * 1000 + b.readUInt32LE(120) / 1e6,
  }
}

describe(`file metadata ops (${BACKEND})`, () => {
  it('supports() says which ops the kernel has: FTRUNCATE only from Linux 6.9 on io_uring', () => {
    const p = getProactor()
    expect(p.supports('statx')).toBe(true)
    expect(p.supports('fallocate')).toBe(true)
    // The poll backend runs every op on the threadpool; io_uring has FTRUNCATE from 6.9 (IORING_REGISTER_PROBE).
    expect(p.supports('ftruncate')).toBe(BACKEND === 'poll' || kernel() >= 609)
  })

  it('statx of a path and of an fd fill size, mode, inode and mtime as fs.statSync sees them', async () => {
    const file = join(dir, 'stat.bin')
    writeFileSync(file, Buffer.alloc(12345, 7), { mode: 0o640 })
    const want = statSync(file, { bigint: true })
    const byPath = Buffer.alloc(256)
    expect(await run({ kind: 'statx', dirfd: AT_FDCWD, path: cstr(file), flags: 0, mask: STATX_BASIC_STATS, buf: byPath }, undefined, { op: 'stat', handle: file })).toBe(0)
    const fd = openSync(file, 'r')
    const byFd = Buffer.alloc(256)
    try {
      expect(await run({ kind: 'statx', dirfd: fd, path: cstr(''), flags: AT_EMPTY_PATH, mask: STATX_BASIC_STATS, buf: byFd }, undefined, { op: 'stat', handle: fd })).toBe(0)
    } finally {
      closeSync(fd)
    }
    for (const got of [decode(byPath), decode(byFd)]) {
      expect(got.mask & STATX_BASIC_STATS).toBe(STATX_BASIC_STATS)
      expect(got.size).toBe(12345)
      expect(got.mode).toBe(Number(want.mode))
      expect(got.mode & 0o777).toBe(0o640)
      expect(got.ino).toBe(want.ino)
      expect(got.blocks).toBe(Number(want.blocks))
      expect(got.mtimeMs).toBeCloseTo(Number(want.mtimeNs) / 1e6, 3)
    }
  })

  it('statx follows a symlink unless AT_SYMLINK_NOFOLLOW', async () => {
    const target = join(dir, 'target.txt')
    writeFileSync(target, 'hello')
    const link = join(dir, 'link')
    symlinkSync(target, link)
    const buf = Buffer.alloc(256)
    await run({ kind: 'statx', dirfd: AT_FDCWD, path: cstr(link), flags: 0, mask: STATX_BASIC_STATS, buf }, undefined, { op: 'stat', handle: link })
    expect(decode(buf).mode & 0o170000).toBe(0o100000)
    await run({ kind: 'statx', dirfd: AT_FDCWD, path: cstr(link), flags: AT_SYMLINK_NOFOLLOW, mask: STATX_BASIC_STATS, buf }, undefined, { op: 'stat', handle: link })
    expect(decode(buf).mode & 0o170000).toBe(0o120000)
    expect(decode(buf).size).toBe(target.length)
  })

  it('statx errors: ENOENT for a missing path, ENOTDIR through a file, EBADF for a closed fd', async () => {
    const buf = Buffer.alloc(256)
    const missing = join(dir, 'missing', 'nope')
    await expect(run({ kind: 'statx', dirfd: AT_FDCWD, path: cstr(missing), flags: 0, mask: STATX_BASIC_STATS, buf }, undefined, { op: 'stat', handle: missing })).rejects.toMatchObject({
      name: 'IoError',
      code: 'ENOENT',
      errno: 2,
      op: 'stat',
      handle: missing,
    })
    const file = join(dir, 'plain.txt')
    writeFileSync(file, 'x')
    const through = join(file, 'child')
    await expect(run({ kind: 'statx', dirfd: AT_FDCWD, path: cstr(through), flags: 0, mask: STATX_BASIC_STATS, buf }, undefined, { op: 'stat', handle: through })).rejects.toMatchObject({
      code: 'ENOTDIR',
    })
    const fd = openSync(file, 'r')
    closeSync(fd)
    const err = await run({ kind: 'statx', dirfd: fd, path: cstr(''), flags: AT_EMPTY_PATH, mask: STATX_BASIC_STATS, buf }, undefined, { op: 'stat', handle: fd }).catch((e: unknown) => e)
    expect(IoError.is(err)).toBe(true)
    expect(err).toMatchObject({ code: 'EBADF', op: 'stat', handle: fd })
  })

  it('statx refuses, before submitting, a path without its NUL and a buffer smaller than struct statx', () => {
    const p = getProactor()
    const pending = p.pending
    const c: Completion = { complete: () => expect.unreachable('nothing was started') }
    expect(() => p.start({ kind: 'statx', dirfd: AT_FDCWD, path: Buffer.from('/etc'), flags: 0, mask: STATX_BASIC_STATS, buf: Buffer.alloc(256) }, c)).toThrow(TypeError)
    expect(() => p.start({ kind: 'statx', dirfd: AT_FDCWD, path: cstr('/etc'), flags: 0, mask: STATX_BASIC_STATS, buf: Buffer.alloc(255) }, c)).toThrow(RangeError)
    expect(p.pending).toBe(pending)
  })

  const noFtruncate = !getProactor().supports('ftruncate')
  it.skipIf(noFtruncate)(
    `ftruncate cuts and extends the file; EINVAL on a read-only fd, EBADF on a bad one${noFtruncate ? ' (skipped: IORING_OP_FTRUNCATE needs Linux 6.9)' : ''}`,
    async () => {
      const file = join(dir, 'trunc.bin')
      writeFileSync(file, Buffer.alloc(10_000, 1))
      const fd = openSync(file, 'r+')
      try {
        expect(await run({ kind: 'ftruncate', fd, length: 100 }, undefined, { op: 'truncate', handle: fd })).toBe(0)
        expect(statSync(file).size).toBe(100)
        expect(await run({ kind: 'ftruncate', fd, length: 1 << 20 }, undefined, { op: 'truncate', handle: fd })).toBe(0)
        expect(statSync(file).size).toBe(1 << 20)
        expect(statSync(file).blocks * 512).toBeLessThan(1 << 20) // extended sparse, with zeros
      } finally {
        closeSync(fd)
      }
      const ro = openSync(file, 'r')
      try {
        await expect(run({ kind: 'ftruncate', fd: ro, length: 0 }, undefined, { op: 'truncate', handle: ro })).rejects.toMatchObject({ code: 'EINVAL', op: 'truncate' })
      } finally {
        closeSync(ro)
      }
      expect(statSync(file).size).toBe(1 << 20)
      await expect(run({ kind: 'ftruncate', fd: BAD_FD, length: 0 }, undefined, { op: 'truncate', handle: BAD_FD })).rejects.toMatchObject({ code: 'EBADF' })
    },
  )

  it('fallocate reserves blocks and grows the size; KEEP_SIZE reserves without growing; EINVAL for a zero length', async () => {
    const file = join(dir, 'alloc.bin')
    writeFileSync(file, '')
    const fd = openSync(file, 'r+')
    try {
      expect(await run({ kind: 'fallocate', fd, mode: FALLOC_FL_KEEP_SIZE, offset: 0, length: 1 << 20 }, undefined, { op: 'allocate', handle: fd })).toBe(0)
      let st = statSync(file)
      expect(st.size).toBe(0)
      expect(st.blocks * 512).toBeGreaterThanOrEqual(1 << 20)
      expect(await run({ kind: 'fallocate', fd, mode: 0, offset: 4096, length: 2 << 20 }, undefined, { op: 'allocate', handle: fd })).toBe(0)
      st = statSync(file)
      expect(st.size).toBe(4096 + (2 << 20))
      expect(st.blocks * 512).toBeGreaterThanOrEqual(2 << 20)
      await expect(run({ kind: 'fallocate', fd, mode: 0, offset: 0, length: 0 }, undefined, { op: 'allocate', handle: fd })).rejects.toMatchObject({ code: 'EINVAL', op: 'allocate' })
    } finally {
      closeSync(fd)
    }
    const ro = openSync(file, 'r')
    try {
      await expect(run({ kind: 'fallocate', fd: ro, mode: 0, offset: 0, length: 4096 }, undefined, { op: 'allocate', handle: ro })).rejects.toMatchObject({ code: 'EBADF' })
    } finally {
      closeSync(ro)
    }
  })

  it('1000 concurrent statx leave no fd behind and all agree', async () => {
    const file = join(dir, 'many.bin')
    writeFileSync(file, Buffer.alloc(777))
    await run({ kind: 'statx', dirfd: AT_FDCWD, path: cstr(file), flags: 0, mask: STATX_BASIC_STATS, buf: Buffer.alloc(256) }, undefined, { op: 'stat', handle: file }) // warm up
    const before = fdCount()
    const bufs = Array.from({ length: 1000 }, () => Buffer.alloc(256))
    const path = cstr(file)
    await Promise.all(bufs.map((b) => run({ kind: 'statx', dirfd: AT_FDCWD, path, flags: 0, mask: STATX_BASIC_STATS, buf: b }, undefined, { op: 'stat', handle: file })))
    expect(bufs.every((b) => decode(b).size === 777)).toBe(true)
    expect(fdCount()).toBe(before)
    expect(getProactor().pending).toBe(0)
  })
})
