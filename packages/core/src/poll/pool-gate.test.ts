import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { Completion, Proactor } from '../proactor.js'
import { addressOf } from '../sys/libc.js'
import { threadpoolCall } from '../threadpool-call.js'
import { poolGate } from './pool-gate.js'
import { createPollProactor } from './poll-proactor.js'
import * as sys from './sys.js'
import { pipe2 } from '../../test/helpers/fds.js'

const ECANCELED = -125
const fdCount = (): number => readdirSync('/proc/self/fd').length

/** Records each op's final result by index. */
class Results {
  readonly res: (number | undefined)[]
  count = 0
  constructor(n: number) {
    this.res = new Array<number | undefined>(n)
  }
  target(i: number): Completion {
    return { complete: (r) => { this.res[i] = r; this.count++ } }
  }
  async until(n: number, ms = 10_000): Promise<void> {
    const end = Date.now() + ms
    while (this.count < n) {
      if (Date.now() > end) throw new Error(`only ${this.count} of ${n} completions after ${ms} ms`)
      await sleep(1)
    }
  }
}

/**
 * A pipe whose buffer is full, with a *blocking* description of its write end
 * (a second open through /proc, so nothing's flags change): every write on it
 * holds a threadpool worker until the pipe is drained.
 */
function fullPipe(): { r: number; w: number; bw: number; filled: number } {
  const fds = Buffer.alloc(8)
  expect(pipe2(fds, sys.O_NONBLOCK | sys.O_CLOEXEC)).toBe(0)
  const r = fds.readInt32LE(0)
  const w = fds.readInt32LE(4)
  const chunk = Buffer.alloc(4096, 1)
  let filled = 0
  for (let n; (n = sys.write(w, chunk, chunk.length)) > 0; ) filled += n
  const bw = openSync(`/proc/self/fd/${w}`, 'w')
  return { r, w, bw, filled }
}

/** Reads the pipe empty (non-blocking read end) until `expected` bytes came out in all, or time runs out. */
async function drain(r: number, expected: number): Promise<number> {
  const buf = Buffer.alloc(65536)
  let got = 0
  const end = Date.now() + 10_000
  while (got < expected && Date.now() < end) {
    const n = sys.read(r, buf, buf.length)
    if (n > 0) got += n
    else await sleep(1)
  }
  return got
}

/** Reads whatever the pipe holds now, without waiting. */
function empty(r: number): void {
  const buf = Buffer.alloc(65536)
  while (sys.read(r, buf, buf.length) > 0);
}

let p: Proactor | undefined
afterEach(() => p?.shutdown())
const dir = mkdtempSync('/var/tmp/ringio-pool-')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

// This file tests the poll backend's threadpool, whatever backend the project selects: run it once, under 'poll'.
const otherProject = process.env['RINGIO_BACKEND'] === 'uring'

describe.skipIf(otherProject)('pool gate: threadpool calls beyond koffi\'s budget', () => {
  it('600 blocking preads started at once all complete, at most `limit` in koffi at a time', async () => {
    p = createPollProactor()
    const file = join(dir, 'data.bin')
    const data = Buffer.alloc(600 * 512)
    for (let i = 0; i < 600; i++) data.fill(i & 0xff, i * 512, (i + 1) * 512)
    writeFileSync(file, data)
    const fd = openSync(file, 'r')
    try {
      const results = new Results(600)
      const bufs = Array.from({ length: 600 }, () => Buffer.alloc(512))
      // Backwards, so completion order says nothing about file order.
      for (let i = 599; i >= 0; i--) p.start({ kind: 'read', fd, buf: bufs[i]!, offset: i * 512 }, results.target(i))
      expect(poolGate.limit).toBeLessThan(600)
      expect(poolGate.running).toBe(poolGate.limit)
      expect(poolGate.waiting).toBe(600 - poolGate.limit)
      expect(p.pending).toBe(600)
      await results.until(600)
      expect(results.res.every((r) => r === 512)).toBe(true)
      bufs.forEach((b, i) => expect(b.every((x) => x === (i & 0xff))).toBe(true))
      expect(poolGate.running).toBe(0)
      expect(poolGate.waiting).toBe(0)
      expect(p.pending).toBe(0)
    } finally {
      closeSync(fd)
    }
  })

  it('an op cancelled while it waits for room completes at once with -ECANCELED and never runs; close() ends the rest', async () => {
    p = createPollProactor()
    const before = fdCount()
    const { r, w, bw, filled } = fullPipe()
    const n = poolGate.limit + 100
    const results = new Results(n)
    const one = Buffer.from([7])
    try {
      const ids: number[] = []
      for (let i = 0; i < n; i++) ids.push(p.start({ kind: 'write', fd: bw, buf: one, offset: -1 }, results.target(i)))
      expect(poolGate.running).toBe(poolGate.limit)
      expect(poolGate.waiting).toBe(100)
      // Every worker is stuck in write(2) on the full pipe: only the cancel can complete anything.
      p.cancel(ids[poolGate.limit + 50]!)
      await results.until(1)
      expect(results.res[poolGate.limit + 50]).toBe(ECANCELED)
      expect(results.count).toBe(1)
      // A call of another client waiting behind them: aborted, it rejects and never starts.
      const ac = new AbortController()
      const waiting = threadpoolCall((cb) => sys.writeAt.async(bw, 0, 0, cb), ac.signal)
      ac.abort()
      await expect(waiting).rejects.toMatchObject({ name: 'AbortError' })
      // Shutting the proactor down ends the 99 still waiting at once; the running ones finish when the pipe drains.
      p.shutdown()
      await results.until(100)
      for (let i = poolGate.limit; i < n; i++) expect(results.res[i]).toBe(ECANCELED)
      expect(await drain(r, filled + poolGate.limit)).toBe(filled + poolGate.limit)
      await results.until(n)
      for (let i = 0; i < poolGate.limit; i++) expect(results.res[i]).toBe(1) // won the race: a byte really written
      expect(poolGate.running).toBe(0)
      expect(poolGate.waiting).toBe(0)
    } finally {
      empty(r) // never leave a worker stuck, even when an assertion failed
      closeSync(bw)
      closeSync(r)
      closeSync(w)
    }
    expect(fdCount()).toBe(before)
  })

  it('when koffi refuses (its slots taken by calls outside the gate), ops wait and start later: none lost', async () => {
    const { r, w, bw, filled } = fullPipe()
    p = createPollProactor()
    const file = join(dir, 'refused.bin')
    writeFileSync(file, Buffer.alloc(4096, 3))
    const fd = openSync(file, 'r')
    // An application's own koffi async calls, stuck on the full pipe, leave koffi fewer slots than the gate's budget.
    const outside = 256 - poolGate.limit / 2
    let outsideDone = 0
    try {
      const byte = Buffer.from([5])
      for (let i = 0; i < outside; i++) sys.writeAt.async(bw, addressOf(byte), 1, () => void outsideDone++)
      const results = new Results(300)
      for (let i = 0; i < 300; i++) p.start({ kind: 'read', fd, buf: Buffer.alloc(16), offset: i }, results.target(i))
      expect(poolGate.running).toBeLessThan(poolGate.limit) // koffi said no before the budget was reached
      await sleep(20)
      expect(outsideDone).toBe(0)
      // Draining lets the outside calls return (all four workers are stuck in them); then the ops that waited start.
      expect(await drain(r, filled + outside)).toBe(filled + outside)
      await results.until(300)
      expect(results.res.every((x) => x === 16)).toBe(true)
      expect(outsideDone).toBe(outside)
      expect(poolGate.running).toBe(0)
      expect(poolGate.waiting).toBe(0)
    } finally {
      empty(r)
      closeSync(fd)
      closeSync(bw)
      closeSync(r)
      closeSync(w)
    }
  })

  it('threadpoolCall queues behind the budget, FIFO, and resolves with -errno for a failed call', async () => {
    const { r, w, bw, filled } = fullPipe()
    p = createPollProactor()
    const results = new Results(poolGate.limit)
    try {
      // Fill the budget with writes stuck on the full pipe.
      for (let i = 0; i < poolGate.limit; i++) p.start({ kind: 'write', fd: bw, buf: Buffer.from([1]), offset: -1 }, results.target(i))
      const order: number[] = []
      const calls = [0, 1, 2].map((i) =>
        threadpoolCall((cb) => sys.close.async(2 ** 30, cb)).then((res) => {
          order.push(i)
          return res
        }),
      )
      await sleep(20)
      expect(order).toEqual([]) // still waiting: no place in the budget
      expect(poolGate.waiting).toBe(3)
      await drain(r, filled + poolGate.limit)
      expect(await Promise.all(calls)).toEqual([-9, -9, -9]) // EBADF, as -errno
      expect(order).toEqual([0, 1, 2])
      await results.until(poolGate.limit)
    } finally {
      empty(r)
      closeSync(bw)
      closeSync(r)
      closeSync(w)
    }
  })
})
