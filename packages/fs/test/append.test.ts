import { readFileSync, writeFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { open } from '@ringio/fs'
import { BACKEND, randomBytes, rng, scratchDir } from './helpers.js'

const path = scratchDir()

describe(`append cursor (${BACKEND})`, () => {
  it('10 000 concurrent appends from 100 producers equal their concatenation in call order', async () => {
    const rand = rng(42)
    const f = await open(path('log.bin'), 'w')
    const calls: Buffer[] = [] // in call order, across all producers
    const offsets: Promise<number>[] = []
    const producer = async (id: number): Promise<void> => {
      for (let i = 0; i < 100; i++) {
        const data = randomBytes(rand, 1 + rand(rand(8) === 0 ? 8192 : 200))
        data[0] = id // who wrote it, to help debugging
        calls.push(data)
        const p = f.append(data)
        offsets.push(p)
        // Producers interleave: some wait for their append, some yield, some go on at once.
        const r = rand(4)
        if (r === 0) await p
        else if (r === 1) await Promise.resolve()
        else if (r === 2) await new Promise((res) => setImmediate(res))
      }
    }
    await Promise.all(Array.from({ length: 100 }, (_, id) => producer(id)))
    const at = await Promise.all(offsets)
    const expected = Buffer.concat(calls)
    expect(calls.length).toBe(10_000)
    expect(f.appendOffset).toBe(expected.length)
    // Each append resolved with the offset its bytes start at, increasing in call order.
    let sum = 0
    for (let i = 0; i < calls.length; i++) {
      expect(at[i]).toBe(sum)
      sum += calls[i]!.length
    }
    await f.close()
    const onDisk = readFileSync(path('log.bin'))
    expect(onDisk.length).toBe(expected.length)
    expect(onDisk.equals(expected)).toBe(true)
  })

  it('starts at the size of the file at open, and never truncates with "a"', async () => {
    writeFileSync(path('existing.txt'), 'head:')
    const f = await open(path('existing.txt'), 'a')
    expect(f.appendOffset).toBe(5)
    await Promise.all([f.append('one,'), f.append('two,'), f.append(Buffer.from('three'))])
    await f.close()
    expect(readFileSync(path('existing.txt'), 'utf8')).toBe('head:one,two,three')
    const w = await open(path('existing.txt'), 'w')
    expect(w.appendOffset).toBe(0)
    await w.close()
    expect(readFileSync(path('existing.txt')).length).toBe(0)
  })

  it('positional writes on an "a" file go where they are told (no O_APPEND)', async () => {
    const f = await open(path('mixed.txt'), 'a+')
    await f.append('aaaa')
    await f.write('XY', 1)
    await f.append('bb')
    const buf = Buffer.alloc(6)
    expect(await f.read(buf, 0)).toBe(6)
    expect(buf.toString()).toBe('aXYabb')
    await f.close()
  })

  it('truncate moves the cursor to the new end', async () => {
    const f = await open(path('trunc.txt'), 'w+')
    await f.append('0123456789')
    await f.truncate(4)
    await f.append('ab')
    await f.close()
    expect(readFileSync(path('trunc.txt'), 'utf8')).toBe('0123ab')
  })

  it('append on a read-only or closed file rejects with EBADF and leaves the cursor alone', async () => {
    writeFileSync(path('ro.txt'), 'abc')
    const f = await open(path('ro.txt'), 'r')
    const before = f.appendOffset
    await expect(f.append('x')).rejects.toMatchObject({ name: 'IoError', code: 'EBADF', op: 'append' })
    expect(f.appendOffset).toBe(before)
    await f.close()
    const g = await open(path('rw.txt'), 'w')
    await g.close()
    await expect(g.append('x')).rejects.toMatchObject({ code: 'EBADF', handle: path('rw.txt') })
    expect(g.appendOffset).toBe(0)
  })
})
