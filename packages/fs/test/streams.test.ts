import { readFileSync, writeFileSync } from 'node:fs'
import { concatMap, delay, firstValueFrom, from, interval, map, of, take, throwError, toArray, concat } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { getProactor } from '@ringio/core/transport'
import { copy, open, readChunks, writeFrom } from '@ringio/fs'
import { BACKEND, randomBytes, rng, scratchDir } from './helpers.js'

const path = scratchDir()
const rand = rng(99)
const DATA = randomBytes(rand, 1_000_003) // not a multiple of any chunk size
writeFileSync(path('data.bin'), DATA)

describe(`streams and copy (${BACKEND})`, () => {
  it('readChunks emits the file in order with several reads in flight', async () => {
    const f = await open(path('data.bin'))
    for (const [chunkSize, concurrency] of [[65536, 8], [4096, 32], [1 << 20, 2], [777, 1]] as const) {
      const chunks = await firstValueFrom(readChunks(f, { chunkSize, concurrency }).pipe(toArray()))
      expect(chunks.length).toBe(Math.ceil(DATA.length / chunkSize))
      expect(chunks.slice(0, -1).every((c) => c.length === chunkSize)).toBe(true)
      expect(Buffer.concat(chunks).equals(DATA)).toBe(true)
    }
    await f.close()
  })

  it('readChunks reads [start, end), and completes at once for an empty range or file', async () => {
    const f = await open(path('data.bin'))
    const part = await firstValueFrom(readChunks(f, { start: 1000, end: 300_000, chunkSize: 65536 }).pipe(toArray()))
    expect(Buffer.concat(part).equals(DATA.subarray(1000, 300_000))).toBe(true)
    const past = await firstValueFrom(readChunks(f, { start: 2_000_000 }).pipe(toArray()))
    expect(past).toEqual([])
    const none = await firstValueFrom(readChunks(f, { start: 5, end: 5 }).pipe(toArray()))
    expect(none).toEqual([])
    await f.close()
  })

  it('unsubscribing stops the reads', async () => {
    const f = await open(path('data.bin'))
    const got = await firstValueFrom(readChunks(f, { chunkSize: 4096, concurrency: 16 }).pipe(take(3), toArray()))
    expect(Buffer.concat(got).equals(DATA.subarray(0, 3 * 4096))).toBe(true)
    await f.close() // waits for the reads that were cancelled or finished
    expect(getProactor().pending).toBe(0)
  })

  it('readChunks errors with EBADF when the file is closed under it', async () => {
    const f = await open(path('data.bin'))
    await f.close()
    await expect(firstValueFrom(readChunks(f).pipe(toArray()))).rejects.toMatchObject({ code: 'EBADF' })
  })

  it('writeFrom writes chunks in arrival order however the writes complete', async () => {
    const f = await open(path('wf.bin'), 'w+')
    const chunks = Array.from({ length: 300 }, (_, i) => randomBytes(rand, 1 + ((i * 7919) % 5000)))
    const src = from(chunks).pipe(concatMap((c, i) => (i % 50 === 0 ? of(c).pipe(delay(1)) : of(c))))
    const n = await writeFrom(f, src, { concurrency: 16, start: 10 })
    const expected = Buffer.concat(chunks)
    expect(n).toBe(expected.length)
    await f.close()
    expect(readFileSync(path('wf.bin')).subarray(10).equals(expected)).toBe(true)
  })

  it('writeFrom with start "append" uses the append cursor, and accepts strings', async () => {
    writeFileSync(path('wfa.txt'), '>')
    const f = await open(path('wfa.txt'), 'a')
    const n = await writeFrom(f, interval(0).pipe(take(5), map((i) => `${i},`)), { start: 'append' })
    expect(n).toBe(10)
    await f.append('end')
    await f.close()
    expect(readFileSync(path('wfa.txt'), 'utf8')).toBe('>0,1,2,3,4,end')
  })

  it('writeFrom rejects with the source error, after writes in flight settled', async () => {
    const f = await open(path('wfe.bin'), 'w')
    const boom = new Error('boom')
    await expect(writeFrom(f, concat(of(Buffer.alloc(10)), throwError(() => boom)))).rejects.toBe(boom)
    await expect(writeFrom(f, of(42 as unknown as Buffer))).rejects.toThrow(TypeError)
    const ro = await open(path('wfe.bin'), 'r')
    await expect(writeFrom(ro, of(Buffer.alloc(10), Buffer.alloc(10)))).rejects.toMatchObject({ code: 'EBADF' })
    const ac = new AbortController()
    const p = writeFrom(f, interval(5).pipe(map(() => Buffer.alloc(10))), { signal: ac.signal })
    setTimeout(() => ac.abort(), 20)
    await expect(p).rejects.toMatchObject({ name: 'AbortError' })
    await Promise.all([f.close(), ro.close()])
  })

  it('readChunks piped into writeFrom copies a file', async () => {
    const src = await open(path('data.bin'))
    const dst = await open(path('piped.bin'), 'w')
    expect(await writeFrom(dst, readChunks(src, { chunkSize: 65536, concurrency: 4 }), { concurrency: 4 })).toBe(DATA.length)
    await Promise.all([src.close(), dst.close()])
    expect(readFileSync(path('piped.bin')).equals(DATA)).toBe(true)
  })

  it('copy copies paths and Files at any depth', async () => {
    for (const depth of [1, 3, 16]) {
      expect(await copy(path('data.bin'), path(`copy-${depth}.bin`), { depth, chunkSize: 100_000 })).toBe(DATA.length)
      expect(readFileSync(path(`copy-${depth}.bin`)).equals(DATA)).toBe(true)
    }
    writeFileSync(path('empty.bin'), '')
    expect(await copy(path('empty.bin'), path('empty-copy.bin'))).toBe(0)
    expect(readFileSync(path('empty-copy.bin')).length).toBe(0)
    const s = await open(path('data.bin'))
    const d = await open(path('copy-files.bin'), 'w+')
    expect(await copy(s, d)).toBe(DATA.length)
    expect(s.closed || d.closed).toBe(false) // Files passed in stay open
    await Promise.all([s.close(), d.close()])
    expect(readFileSync(path('copy-files.bin')).equals(DATA)).toBe(true)
    await expect(copy(path('nope.bin'), path('x.bin'))).rejects.toMatchObject({ code: 'ENOENT' })
    await expect(copy(path('data.bin'), `${path('.')}/./data.bin`)).rejects.toMatchObject({ code: 'EINVAL', op: 'copy' })
    expect(readFileSync(path('data.bin')).equals(DATA)).toBe(true) // untouched
  })
})
