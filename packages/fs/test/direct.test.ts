import { readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs'
import { firstValueFrom, toArray } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { addressOf, getProactor } from '@ringio/core/transport'
import { AlignedPool, allocAligned, copy, open, readChunks } from '@ringio/fs'
import { BACKEND, randomBytes, rng, scratchDir } from './helpers.js'

const path = scratchDir()
const TMPFS_MAGIC = 0x01021994
const shmIsTmpfs = (() => {
  try {
    return statfsSync('/dev/shm').type === TMPFS_MAGIC
  } catch {
    return false
  }
})()

describe(`O_DIRECT (${BACKEND})`, () => {
  it('allocAligned gives zeroed, aligned Buffers; AlignedPool reuses them', () => {
    const a = allocAligned(8192)
    expect(a.length).toBe(8192)
    expect(a.every((x) => x === 0)).toBe(true)
    const b = allocAligned(4096, 65536)
    b.fill(1)
    expect(() => allocAligned(0)).toThrow(RangeError)
    expect(() => allocAligned(4096, 3000)).toThrow(RangeError)
    const pool = new AlignedPool({ size: 4096 })
    const x = pool.acquire()
    expect(pool.inUse).toBe(1)
    pool.release(x)
    expect(pool.acquire()).toBe(x)
    expect(() => pool.release(Buffer.alloc(4096))).toThrow(TypeError)
  })

  it('large buffers sit in huge-page-aligned memory (physically contiguous where THP allows) and round-trip', async () => {
    const HUGE = 2 * 1024 * 1024
    const big = allocAligned(3 * 1024 * 1024)
    expect(big.length).toBe(3 * 1024 * 1024)
    expect(addressOf(big) % HUGE).toBe(0)
    expect(big.every((x) => x === 0)).toBe(true)
    // 1 MiB pool buffers: two per 2 MiB slab, never straddling a huge page.
    const pool = new AlignedPool({ size: 1 << 20, maxFree: 8 })
    const bufs = Array.from({ length: 5 }, () => pool.acquire())
    for (const b of bufs) {
      expect(b.length).toBe(1 << 20)
      expect(addressOf(b) % (1 << 20)).toBe(0)
      expect(b.every((x) => x === 0)).toBe(true)
    }
    expect(new Set(bufs.map((b) => addressOf(b))).size).toBe(5)
    expect(new Set(bufs.map((b) => Math.floor(addressOf(b) / HUGE))).size).toBe(3)
    // Odd sizes keep their alignment and do not overlap.
    const odd = new AlignedPool({ size: 300 * 1024, alignment: 4096 })
    const [p, q] = [odd.acquire(), odd.acquire()]
    expect(addressOf(p) % 4096).toBe(0)
    expect(addressOf(q) - addressOf(p)).toBeGreaterThanOrEqual(300 * 1024)
    expect(() => new AlignedPool({ size: 0 })).toThrow(RangeError)
    expect(() => new AlignedPool({ size: 300 * 1024 + 0.5 })).toThrow(RangeError)

    const f = await open(path('huge.bin'), 'w+', { direct: true })
    try {
      const data = randomBytes(rng(7), 2 << 20)
      data.copy(bufs[0]!, 0, 0, 1 << 20)
      data.copy(bufs[1]!, 0, 1 << 20)
      await Promise.all([f.write(bufs[0]!, 0), f.write(bufs[1]!, 1 << 20)])
      bufs[0]!.fill(0)
      bufs[1]!.fill(0)
      expect(await f.readv([bufs[1]!, bufs[0]!], 0)).toBe(2 << 20)
      expect(Buffer.concat([bufs[1]!, bufs[0]!]).equals(data)).toBe(true)
      expect(await f.read(big, 0)).toBe(2 << 20)
      expect(big.subarray(0, 2 << 20).equals(data)).toBe(true)
    } finally {
      await f.close()
    }
  })

  it('round trip with aligned buffers, at the alignment the file system reports', async () => {
    const rand = rng(3)
    const f = await open(path('direct.bin'), 'w+', { direct: true })
    expect(f.direct).toBe(true)
    expect(f.alignment.offset).toBeGreaterThanOrEqual(512)
    const data = allocAligned(1 << 20)
    randomBytes(rand, 1 << 20).copy(data)
    // Four concurrent 256 KiB writes, out of order.
    const q = 1 << 18
    await Promise.all([3, 1, 0, 2].map((i) => f.write(data.subarray(i * q, (i + 1) * q), i * q)))
    const back = allocAligned(1 << 20)
    expect(await f.read(back, 0)).toBe(1 << 20)
    expect(back.equals(data)).toBe(true)
    // readv/writev with aligned parts
    const parts = [allocAligned(4096), allocAligned(8192)]
    parts[0]!.fill(7)
    parts[1]!.fill(9)
    expect(await f.writev(parts, 1 << 20)).toBe(12288)
    const r = [allocAligned(8192), allocAligned(4096)]
    expect(await f.readv(r, 1 << 20)).toBe(12288)
    expect(r[0]!.subarray(0, 4096).every((x) => x === 7) && r[0]!.subarray(4096).every((x) => x === 9)).toBe(true)
    // A short read at the end of the file is the end, not an error.
    const tail = allocAligned(1 << 16)
    expect(await f.read(tail, (1 << 20) + 8192)).toBe(4096)
    await f.close()
    expect(readFileSync(path('direct.bin')).subarray(0, 1 << 20).equals(data)).toBe(true)
  })

  it('a large O_DIRECT read comes back whole (short completions are resumed)', async () => {
    const size = 8 << 20
    const data = randomBytes(rng(5), size)
    writeFileSync(path('big.bin'), data)
    const f = await open(path('big.bin'), 'r', { direct: true })
    const buf = allocAligned(size + 4096)
    expect(await f.read(buf, 0)).toBe(size)
    expect(buf.subarray(0, size).equals(data)).toBe(true)
    await f.close()
  })

  it('misaligned address, offset or length is a RangeError before anything is submitted', async () => {
    const f = await open(path('mis.bin'), 'w+', { direct: true })
    const al = f.alignment
    const good = allocAligned(8192)
    const pending = getProactor().pending
    expect(() => f.write(good, al.offset / 2)).toThrow(/offset .* is not a multiple/)
    expect(() => f.write(good.subarray(0, al.offset + 1), 0)).toThrow(/length .* is not a multiple/)
    expect(() => f.read(good.subarray(1, 1 + al.offset), 0)).toThrow(/address is not a multiple/)
    expect(() => f.read(Buffer.alloc(al.offset + 1).subarray(1), 0)).toThrow(RangeError)
    expect(() => f.readv([good.subarray(0, 4096), good.subarray(4097, 8193 - al.offset)], 0)).toThrow(RangeError)
    expect(() => f.append(good.subarray(0, 100))).toThrow(RangeError)
    expect(f.appendOffset).toBe(0)
    expect(getProactor().pending).toBe(pending)
    await f.close()
  })

  it('readChunks honours an unaligned end; copy handles an unaligned tail', async () => {
    const rand = rng(11)
    const size = 3 * 65536 + 1234
    const data = randomBytes(rand, size)
    writeFileSync(path('tail.bin'), data)
    const f = await open(path('tail.bin'), 'r', { direct: true })
    const chunks = await firstValueFrom(readChunks(f, { chunkSize: 65536, concurrency: 3 }).pipe(toArray()))
    expect(Buffer.concat(chunks).equals(data)).toBe(true)
    const part = await firstValueFrom(readChunks(f, { chunkSize: 65536, start: 4096, end: 70_000 }).pipe(toArray()))
    expect(Buffer.concat(part).equals(data.subarray(4096, 70_000))).toBe(true)
    expect(() => readChunks(f, { chunkSize: 1000 })).toThrow(RangeError)
    await f.close()
    expect(await copy(path('tail.bin'), path('tail-copy.bin'), { direct: true, depth: 4, chunkSize: 65536 })).toBe(size)
    expect(readFileSync(path('tail-copy.bin')).equals(data)).toBe(true)
  })

  it('a file system that refuses O_DIRECT gives IoError EINVAL at open (procfs)', async () => {
    await expect(open('/proc/self/status', 'r', { direct: true })).rejects.toMatchObject({
      name: 'IoError',
      code: 'EINVAL',
      op: 'open',
      message: expect.stringMatching(/refuses O_DIRECT/),
    })
  })

  // tmpfs gained O_DIRECT in Linux 6.6 ("tmpfs: trivial support for direct IO"):
  // before, open fails with EINVAL; since, it succeeds. Either is correct.
  it.skipIf(!shmIsTmpfs)('tmpfs (/dev/shm): EINVAL at open before Linux 6.6, a working File since', async () => {
    const p = `/dev/shm/ringio-fs-direct-${process.pid}-${BACKEND}`
    try {
      const f = await open(p, 'w+', { direct: true })
      const b = allocAligned(4096)
      expect(await f.write(b, 0)).toBe(4096)
      await f.close()
    } catch (err) {
      expect(err).toMatchObject({ name: 'IoError', code: 'EINVAL' })
    } finally {
      rmSync(p, { force: true })
    }
  })
})
