import { readFileSync } from 'node:fs'
import { thpPossible } from '@ringio/core/transport'
import koffi from 'koffi'
import { afterEach, describe, expect, it } from 'vitest'
import { makePipe, type Pipe } from '../test/helpers/fifo.js'
import { SpliceStage } from './splice-stage.js'

const EAGAIN = 11
/** `tee(2)`: copies page references from one pipe into another without consuming them. */
const tee = koffi.load('libc.so.6').func('long tee(int fd_in, int fd_out, size_t len, unsigned int flags)') as (
  i: number,
  o: number,
  len: number,
  flags: number,
) => number
const pattern = (n: number, seed: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) % 256))

describe('SpliceStage (vmsplice from a huge-page stage, against a real pipe)', () => {
  let p: Pipe | undefined
  let stage: SpliceStage | null = null
  afterEach(() => {
    stage?.close()
    stage = null
    p?.close()
    p = undefined
  })

  it('exists exactly where THP is not off', () => {
    stage = SpliceStage.create(65536)
    expect(stage !== null).toBe(thpPossible())
  })

  it.skipIf(!thpPossible())('hands over at most a pipe-full, then -EAGAIN; the reader gets the bytes as they were when pushed', async () => {
    p = makePipe()
    stage = SpliceStage.create(65536)!
    const a = pattern(100_000, 1)
    expect(stage.push(p.w, [a], 0, 0)).toBe(65536)
    expect(stage.push(p.w, [a], 0, 65536)).toBe(-EAGAIN) // full; the rest stays staged
    a.fill(0) // the caller may reuse its buffer: the stage copied it
    const first = await p.readN(65536, 65536, 0)
    expect(first.equals(pattern(100_000, 1).subarray(0, 65536))).toBe(true)
    expect(stage.push(p.w, [a], 0, 65536)).toBe(100_000 - 65536) // the staged copy, not the zeroed source
    expect((await p.readN(100_000 - 65536, 65536, 0)).equals(pattern(100_000, 1).subarray(65536))).toBe(true)
  })

  it.skipIf(!thpPossible())('a stream larger than the region arrives whole and in order through a concurrent reader', async () => {
    p = makePipe()
    stage = SpliceStage.create(65536)!
    const chunks = Array.from({ length: 80 }, (_, i) => pattern(65536, i)) // 5 MiB: more than the 4 MiB region
    const reader = p.readN(80 * 65536, 65536, 0)
    for (const c of chunks) {
      let off = 0
      while (off < c.length) {
        const r = stage.push(p.w, [c], 0, off)
        if (r > 0) off += r
        else {
          expect(r).toBe(-EAGAIN)
          await new Promise((res) => setImmediate(res))
        }
      }
    }
    expect((await reader).equals(Buffer.concat(chunks))).toBe(true)
  })

  it.skipIf(!thpPossible())('a consumer that keeps references to handed-over pages (tee into another pipe) still sees them unchanged after the region is refilled', async () => {
    p = makePipe()
    const kept = makePipe()
    try {
      stage = SpliceStage.create(65536)!
      const first = pattern(65536, 7)
      expect(stage.push(p.w, [first], 0, 0)).toBe(65536)
      expect(tee(p.r, kept.w, 65536, 0)).toBe(65536) // `kept` now references the stage's first pages
      expect((await p.readN(65536, 65536, 0)).equals(first)).toBe(true)
      // 5 MiB more: the 4 MiB region wraps and its first pages are written again.
      const reader = p.readN(80 * 65536, 65536, 0)
      for (let i = 0; i < 80; i++) {
        const c = pattern(65536, 100 + i)
        for (let off = 0; off < c.length; ) {
          const r = stage.push(p.w, [c], 0, off)
          if (r > 0) off += r
          else await new Promise((res) => setImmediate(res))
        }
      }
      await reader
      expect((await kept.readN(65536, 65536, 0)).equals(first)).toBe(true)
    } finally {
      kept.close()
    }
  })

  it.skipIf(!thpPossible())('idle gives the memory back', () => {
    p = makePipe()
    stage = SpliceStage.create(65536)!
    expect(stage.push(p.w, [pattern(65536, 3)], 0, 0)).toBe(65536)
    const rss = (): number => Number(/^Rss:\s+(\d+)/m.exec(readFileSync('/proc/self/smaps_rollup', 'latin1'))![1])
    const before = rss()
    stage.idle()
    expect(rss()).toBeLessThan(before) // at least the 2 MiB huge page went back (the pipe keeps its 64 KiB)
  })
})
