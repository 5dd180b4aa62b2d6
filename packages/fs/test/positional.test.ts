import { readFileSync, writeFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { backend } from '@ringio/core/transport'
import { open } from '@ringio/fs'
import { BACKEND, randomBytes, rng, scratchDir } from './helpers.js'

const path = scratchDir()

describe(`positional I/O (${BACKEND})`, () => {
  it('runs on the backend the project asked for', () => {
    expect(backend()).toBe(BACKEND)
  })

  it('1000 concurrent writes at random offsets read back byte-exact', async () => {
    const rand = rng(7)
    // 1000 disjoint extents of random sizes, issued in a random order.
    const sizes = Array.from({ length: 1000 }, () => 1 + rand(6000))
    const offsets: number[] = []
    let total = 0
    for (const s of sizes) {
      offsets.push(total)
      total += s
    }
    const expected = randomBytes(rand, total)
    const order = sizes.map((_, i) => i)
    for (let i = order.length - 1; i > 0; i--) {
      const j = rand(i + 1)
      ;[order[i], order[j]] = [order[j]!, order[i]!]
    }
    const f = await open(path('random.bin'), 'w+')
    const written = await Promise.all(order.map((i) => f.write(expected.subarray(offsets[i]!, offsets[i]! + sizes[i]!), offsets[i]!)))
    expect(written.reduce((a, b) => a + b, 0)).toBe(total)
    expect((await f.stat()).size).toBe(total)

    // Read back with 1000 concurrent reads too, then compare with what node sees.
    const back = Buffer.alloc(total)
    const got = await Promise.all(order.map((i) => f.read(back.subarray(offsets[i]!, offsets[i]! + sizes[i]!), offsets[i]!)))
    expect(got).toEqual(order.map((i) => sizes[i]))
    expect(back.equals(expected)).toBe(true)
    await f.close()
    expect(readFileSync(path('random.bin')).equals(expected)).toBe(true)
  })

  it('reads short at end of file, and 0 past it — never an error', async () => {
    writeFileSync(path('short.txt'), 'hello world')
    const f = await open(path('short.txt'), 'r')
    const buf = Buffer.alloc(64)
    expect(await f.read(buf, 6)).toBe(5)
    expect(buf.subarray(0, 5).toString()).toBe('world')
    expect(await f.read(buf, 11)).toBe(0)
    expect(await f.read(buf, 1_000_000)).toBe(0)
    expect(await f.read(Buffer.alloc(0), 0)).toBe(0)
    const a = Buffer.alloc(4)
    const b = Buffer.alloc(100)
    expect(await f.readv([a, b], 2)).toBe(9)
    expect(a.toString() + b.subarray(0, 5).toString()).toBe('llo world')
    await f.close()
  })

  it('writev writes buffers back to back; strings are UTF-8', async () => {
    const f = await open(path('vec.bin'), 'w+')
    expect(await f.writev([Buffer.from('ab'), Buffer.alloc(0), Buffer.from('cdef')], 10)).toBe(6)
    expect(await f.write('é!', 16)).toBe(3)
    const back = Buffer.alloc(19)
    expect(await f.read(back, 0)).toBe(19)
    expect(back.subarray(10).toString()).toBe('abcdefé!')
    expect(back.subarray(0, 10).every((x) => x === 0)).toBe(true) // the hole reads as zeros
    await f.close()
  })

  it('never uses the kernel file position: the fd offset stays 0', async () => {
    const f = await open(path('pos.bin'), 'w+')
    await f.write(Buffer.alloc(1000, 1), 0)
    await f.read(Buffer.alloc(10), 500)
    // A plain read(2) at the fd's own position still starts at byte 0.
    const { readSync } = await import('node:fs')
    const b = Buffer.alloc(4)
    expect(readSync(f.fd, b, 0, 4, null)).toBe(4)
    await f.close()
  })

  it('stat, truncate, allocate, sync and datasync', async () => {
    const f = await open(path('meta.bin'), 'w+', { mode: 0o640 })
    await f.write('x'.repeat(5000), 0)
    let st = await f.stat()
    expect(st.type).toBe('file')
    expect(st.size).toBe(5000)
    expect(st.mode & 0o777).toBe(0o640 & ~process.umask())
    expect(st.mtime).toBeInstanceOf(Date)
    expect(Math.abs(st.mtime.getTime() - Date.now())).toBeLessThan(60_000)
    expect(typeof st.ino).toBe('bigint')
    await f.sync()
    await f.datasync()
    await f.truncate(100)
    expect((await f.stat()).size).toBe(100)
    expect(f.appendOffset).toBe(100)
    await f.allocate(0, 1 << 20, { keepSize: true })
    st = await f.stat()
    expect(st.size).toBe(100)
    expect(st.blocks * 512).toBeGreaterThanOrEqual(1 << 20)
    await f.allocate(0, 8192)
    expect((await f.stat()).size).toBe(8192)
    await f.close()
  })

  it('a directory opened for reading stats as one', async () => {
    const d = await open(path('.'), 'r')
    expect((await d.stat()).type).toBe('directory')
    await d.close()
  })
})
