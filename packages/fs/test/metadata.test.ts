import { mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { getProactor, IoError } from '@ringio/core/transport'
import { open, stat, type FileStat } from '@ringio/fs'
import { BACKEND, fdCount, scratchDir } from './helpers.js'

const path = scratchDir()

/** The fields both sides report, from node:fs's view. */
function expectSameAsNode(st: FileStat, file: string): void {
  const n = statSync(file, { bigint: true })
  expect(st.size).toBe(Number(n.size))
  expect(st.mode).toBe(Number(n.mode))
  expect(st.ino).toBe(n.ino)
  expect(st.nlink).toBe(Number(n.nlink))
  expect(st.uid).toBe(Number(n.uid))
  expect(st.gid).toBe(Number(n.gid))
  expect(st.blocks).toBe(Number(n.blocks))
  expect(st.blockSize).toBe(Number(n.blksize))
  expect(st.mtimeNs).toBe(n.mtimeNs)
  expect(st.mtime.getTime()).toBe(Number(n.mtimeNs / 1_000_000n))
}

describe(`metadata: stat, truncate, allocate (${BACKEND})`, () => {
  it('File.stat() and stat(path) agree with fs.statSync, before and after writes and truncates', async () => {
    const file = path('agree.bin')
    const f = await open(file, 'w+', { mode: 0o604 })
    expectSameAsNode(await f.stat(), file)
    await f.write(Buffer.alloc(70_000, 1), 0)
    expectSameAsNode(await f.stat(), file)
    expectSameAsNode(await stat(file), file)
    await f.truncate(1234)
    const st = await f.stat()
    expect(st.size).toBe(1234)
    expectSameAsNode(st, file)
    expectSameAsNode(await stat(pathToFileURL(file)), file)
    await f.close()
  })

  it('stat(path) follows symlinks unless followSymlinks is false, and tells the types apart', async () => {
    const target = path('t.txt')
    writeFileSync(target, 'hello')
    symlinkSync(target, path('l'))
    mkdirSync(path('d'))
    expect((await stat(path('l'))).type).toBe('file')
    const link = await stat(path('l'), { followSymlinks: false })
    expect(link.type).toBe('symlink')
    expect(link.size).toBe(target.length)
    expect((await stat(path('d'))).type).toBe('directory')
    expect((await stat('/dev/null')).type).toBe('char')
  })

  it('stat(path) errors are IoError naming the path: ENOENT, ENOTDIR; bad arguments throw', async () => {
    const missing = path('nope/none')
    const err = await stat(missing).catch((e: unknown) => e)
    expect(IoError.is(err)).toBe(true)
    expect(err).toMatchObject({ name: 'IoError', code: 'ENOENT', errno: 2, op: 'stat', handle: missing })
    writeFileSync(path('f.txt'), 'x')
    await expect(stat(path('f.txt/child'))).rejects.toMatchObject({ code: 'ENOTDIR', handle: path('f.txt/child') })
    expect(() => stat('')).toThrow(TypeError)
    expect(() => stat('a\0b')).toThrow(TypeError)
    expect(() => stat(path('f.txt'), { followSymlinks: 'no' as unknown as boolean })).toThrow(TypeError)
  })

  it('truncate: EINVAL on a file not open for writing; allocate: EBADF there; bad arguments throw at the call site', async () => {
    writeFileSync(path('ro.bin'), Buffer.alloc(100))
    const f = await open(path('ro.bin'), 'r')
    await expect(f.truncate(10)).rejects.toMatchObject({ name: 'IoError', code: 'EINVAL', op: 'truncate', handle: path('ro.bin') })
    await expect(f.allocate(0, 4096)).rejects.toMatchObject({ name: 'IoError', code: 'EBADF', op: 'allocate', handle: path('ro.bin') })
    expect(statSync(path('ro.bin')).size).toBe(100)
    expect(() => f.truncate(-1)).toThrow(RangeError)
    expect(() => f.allocate(0, 0)).toThrow(RangeError)
    expect(() => f.allocate(-1, 10)).toThrow(RangeError)
    expect(() => f.allocate(0, 10, { keepSize: 1 as unknown as boolean })).toThrow(TypeError)
    await f.close()
  })

  it('allocate reserves space (keepSize leaves the size), truncate extends with zeros', async () => {
    const file = path('space.bin')
    const f = await open(file, 'w+')
    await f.allocate(0, 4 << 20, { keepSize: true })
    expect(statSync(file).size).toBe(0)
    expect(statSync(file).blocks * 512).toBeGreaterThanOrEqual(4 << 20)
    await f.allocate(8192, 4096)
    expect(statSync(file).size).toBe(8192 + 4096)
    await f.truncate(1 << 20)
    const buf = Buffer.alloc(1 << 20, 0xff)
    expect(await f.read(buf, 0)).toBe(1 << 20)
    expect(buf.every((b) => b === 0)).toBe(true)
    await f.close()
  })

  it('stat, truncate, allocate, sync and datasync go to the proactor where it supports the op', async () => {
    const f = await open(path('route.bin'), 'w+')
    const p = getProactor()
    const cases: [string, () => Promise<unknown>, boolean][] = [
      ['stat', () => f.stat(), p.supports('statx')],
      ['truncate', () => f.truncate(10), p.supports('ftruncate')],
      ['allocate', () => f.allocate(0, 10), p.supports('fallocate')],
      ['sync', () => f.sync(), true],
      ['datasync', () => f.datasync(), true],
      ['stat(path)', () => stat(path('route.bin')), p.supports('statx')],
    ]
    for (const [, start, onProactor] of cases) {
      const before = p.pending
      const done = start()
      // A proactor op counts as pending from its start; the threadpool fallback does not touch the proactor.
      expect(p.pending - before).toBe(onProactor ? 1 : 0)
      await done
    }
    await f.close()
  })

  it('1000 concurrent stats of a path and of a File leave no fd behind', async () => {
    const file = path('many.bin')
    writeFileSync(file, Buffer.alloc(321))
    const f = await open(file, 'r')
    await stat(file) // warm up
    const before = fdCount()
    const all = await Promise.all(Array.from({ length: 1000 }, (_, i) => (i % 2 === 0 ? stat(file) : f.stat())))
    expect(all.every((s) => s.size === 321)).toBe(true)
    expect(fdCount()).toBe(before)
    await f.close()
    expect(fdCount()).toBe(before - 1)
  })
})
