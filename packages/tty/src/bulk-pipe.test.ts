import { closeSync, fstatSync, readdirSync } from 'node:fs'
import { getProactor, thpPossible, WriteQueue } from '@ringio/core/transport'
import { afterEach, describe, expect, it } from 'vitest'
import { makePipe, type Pipe } from '../test/helpers/fifo.js'
import { fdFlags as flags, keepsStdioFlags } from '../test/helpers/stdio-flags.js'
import { BulkPipe, DEFAULT_BULK_THRESHOLD } from './bulk-pipe.js'
import { output } from './output.js'
import { OutputSink } from './output-sink.js'

const O_NONBLOCK = 0o4000

/** This process's fds, other than the pipe's own two, that refer to the same pipe. */
function privateFds(p: Pipe): number[] {
  const ino = fstatSync(p.w).ino
  return readdirSync('/proc/self/fd')
    .map(Number)
    .filter((fd) => {
      if (fd === p.r || fd === p.w) return false
      try {
        return fstatSync(fd).ino === ino
      } catch {
        return false // the directory listing's own fd, already closed
      }
    })
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r))

describe('bulk writes into a pipe (in process)', () => {
  keepsStdioFlags()
  let p: Pipe | undefined
  afterEach(() => {
    p?.close()
    p = undefined
  })

  it('go through a private, non-blocking description of the same pipe, whole and in order; the shared one keeps its flags; the private one closes once idle', async () => {
    p = makePipe()
    const pipe = p
    const before = flags(pipe.w)
    const w = output(pipe.w, { shared: true })
    const parts: Buffer[] = []
    for (let i = 0; i < 48; i++) parts.push(Buffer.alloc(65536 + i * 13, i))
    for (const b of parts) void w.write(b) // queued in one turn: coalesced into writevs of 1 MiB
    const expected = Buffer.concat(parts)
    const seen = new Set<string>()
    const got = pipe.readN(expected.length, 65536, 0, () => {
      for (const fd of privateFds(pipe)) seen.add(`${fd}:${(flags(fd) & O_NONBLOCK) !== 0 ? 'nonblock' : 'blocking'}`)
      expect(flags(pipe.w)).toBe(before)
    })
    await w.flush()
    expect((await got).equals(expected)).toBe(true)
    expect([...seen].length).toBeGreaterThan(0)
    expect([...seen].every((s) => s.endsWith(':nonblock'))).toBe(true)
    expect(flags(pipe.w)).toBe(before)
    await turn()
    await turn()
    expect(privateFds(pipe)).toEqual([])
    await w.end()
  })

  it('small writes stay on the proactor: no private description', async () => {
    p = makePipe()
    const pipe = p
    const w = output(pipe.w, { shared: true })
    const chunk = Buffer.alloc(1000, 7)
    const got = pipe.readN(100 * chunk.length, 4096, 0)
    for (let i = 0; i < 100; i++) {
      await w.write(chunk)
      expect(privateFds(pipe)).toEqual([])
    }
    expect((await got).length).toBe(100 * chunk.length)
    await w.end()
  })

  it('where the pipe cannot be reopened (a FIFO whose reader left: ENXIO), the write goes to the proactor and fails with EPIPE', async () => {
    const pipe = makePipe()
    closeSync(pipe.r)
    try {
      const w = output(pipe.w, { shared: true })
      await expect(w.write(Buffer.alloc(1 << 20))).rejects.toMatchObject({ name: 'IoError', code: 'EPIPE', op: 'write' })
    } finally {
      closeSync(pipe.w)
    }
  })

  it('cancel: a bulk write into a pipe nobody reads completes with -ECANCELED and releases the private description', async () => {
    p = makePipe()
    const bulk = new BulkPipe(getProactor(), p.w)
    const sink = new OutputSink(getProactor(), { bulk })
    const results: number[] = []
    const id = sink.start({ kind: 'write', fd: p.w, buf: Buffer.alloc(4 * DEFAULT_BULK_THRESHOLD), offset: -1 }, { complete: (res) => results.push(res) })
    await turn()
    expect(privateFds(p)).toHaveLength(1)
    expect(results).toEqual([]) // the pipe holds 64 KiB: still writing
    sink.cancel(id + 1) // not the write in flight: nothing happens
    await turn()
    expect(results).toEqual([])
    sink.cancel(id)
    await turn()
    expect(results).toEqual([-125])
    await turn()
    expect(privateFds(p)).toEqual([])
    bulk.close()
  })

  for (const splice of [true, false]) {
    // Where THP is off the stage does not exist and both cases would test writev.
    it.skipIf(splice && !thpPossible())(`${splice ? 'vmsplice from the stage' : 'writev'}: 12 MiB arrive whole and in order through a late, slow reader, though every source buffer is overwritten as soon as its write resolves`, async () => {
      p = makePipe()
      const pipe = p
      const bulk = new BulkPipe(getProactor(), pipe.w, { splice })
      const q = new WriteQueue(new OutputSink(getProactor(), { bulk }), pipe.w, { kind: 'stream', highWaterMark: 1 << 20 })
      // Chunks of odd sizes, each with its own byte, so a stale or reused page shows.
      const sizes = Array.from({ length: 150 }, (_, i) => 50_000 + ((i * 7919) % 60_000))
      const expected = Buffer.concat(sizes.map((n, i) => Buffer.alloc(n, i % 251)))
      // Starts late and reads slowly, so the pipe stays full; the stage's 4 MiB
      // region is dropped and refilled three times along the way. (That a page
      // is never written once handed over is splice-stage.test.ts's tee test.)
      const got = new Promise<void>((r) => setTimeout(r, 100)).then(() => pipe.readN(expected.length, 32768, 1))
      const writes: Promise<void>[] = []
      for (const [i, n] of sizes.entries()) {
        const b = Buffer.alloc(n, i % 251)
        writes.push(q.write(b).then(() => void b.fill(0xee)))
        if (!q.writable) await new Promise<void>((r) => q.drain$.subscribe({ next: () => r() }))
      }
      await Promise.all(writes)
      await q.end()
      const received = [await got]
      expect(received[0]!.equals(expected)).toBe(true)
      bulk.close()
    })
  }
})
