import { closeSync } from 'node:fs'
import { getProactor, type Completion, type Op, type OpId, type Proactor, type StartOptions } from '@ringio/core/transport'
import { describe, expect, it } from 'vitest'
import { makePipe } from '../test/helpers/fifo.js'
import { keepsStdioFlags } from '../test/helpers/stdio-flags.js'
import { OutputSink } from './output-sink.js'

const EAGAIN = -11
const EPIPE = -32
const ECANCELED = -125

/** A scripted proactor: each write completes with the next result of `results`; polls wait for `ready()`. */
function fake(results: number[]) {
  const log: string[] = []
  const opts: (StartOptions | undefined)[] = []
  const pending = new Map<OpId, Completion>()
  // Ids as large as the real ones get (generation * 2^32 + slot): the sink must not care.
  let id = 2 ** 52
  const p = {
    backend: 'uring',
    closed: false,
    start(op: Op, c: Completion, o?: StartOptions): OpId {
      if (op.kind === 'poll') {
        log.push(`poll ${op.fd} ${op.events}`)
        pending.set(id, c)
        return id++
      }
      const data = op.kind === 'writev' ? op.bufs : op.kind === 'write' || op.kind === 'send' ? op.buf : null
      log.push(`${op.kind} ${(op as { fd: number }).fd} ${data!.length}`)
      opts.push(o)
      const res = results.shift()!
      queueMicrotask(() => c.complete(res, 0))
      return id++
    },
    cancel(op: OpId): void {
      log.push(`cancel ${op}`)
      const c = pending.get(op)
      pending.delete(op)
      queueMicrotask(() => c?.complete(ECANCELED, 0))
    },
    beforeSubmit: (t: () => void) => queueMicrotask(t),
  }
  const ready = () => {
    for (const [k, c] of pending) {
      pending.delete(k)
      c.complete(4, 0)
    }
  }
  return { p: p as unknown as Proactor, log, opts, ready }
}

const settle = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('OutputSink: EAGAIN from a description someone else made non-blocking', () => {
  it('turns EAGAIN into a POLLOUT wait and the same write again', async () => {
    const f = fake([EAGAIN, EAGAIN, 5])
    const got: number[] = []
    new OutputSink(f.p).start({ kind: 'write', fd: 7, buf: Buffer.from('hello'), offset: -1 }, { complete: (r) => got.push(r) })
    await settle()
    expect(f.log).toEqual(['write 7 5', 'poll 7 4'])
    f.ready()
    await settle()
    f.ready()
    await settle()
    expect(f.log).toEqual(['write 7 5', 'poll 7 4', 'write 7 5', 'poll 7 4', 'write 7 5'])
    expect(got).toEqual([5])
  })

  it('retries writev and send the same way, and passes other results through untouched', async () => {
    const f = fake([EAGAIN, 3, -104])
    const sink = new OutputSink(f.p)
    const got: number[] = []
    sink.start({ kind: 'writev', fd: 7, bufs: [Buffer.from('ab'), Buffer.from('c')], offset: -1 }, { complete: (r) => got.push(r) })
    await settle()
    f.ready()
    await settle()
    sink.start({ kind: 'send', fd: 8, buf: Buffer.from('x'), flags: 0x4000 }, { complete: (r) => got.push(r) })
    await settle()
    expect(f.log).toEqual(['writev 7 2', 'poll 7 4', 'writev 7 2', 'send 8 1'])
    expect(got).toEqual([3, -104])
  })

  it('cancel follows the write to its poll; an id that is not the write in flight cancels nothing', async () => {
    const f = fake([EAGAIN])
    const got: number[] = []
    const sink = new OutputSink(f.p)
    const id = sink.start({ kind: 'write', fd: 7, buf: Buffer.from('x'), offset: -1 }, { complete: (r) => got.push(r) })
    expect(id).not.toBe(-1)
    await settle()
    sink.cancel(id + 1)
    sink.cancel(2 ** 52 + 1) // the proactor's id of the poll: not ours, nothing happens
    await settle()
    expect(f.log).toEqual(['write 7 1', 'poll 7 4'])
    sink.cancel(id)
    await settle()
    expect(f.log.at(-1)).toBe(`cancel ${2 ** 52 + 1}`)
    expect(got).toEqual([ECANCELED])
  })

  it('one write at a time: a second start before the first completed throws', () => {
    const f = fake([1, 1])
    const sink = new OutputSink(f.p)
    sink.start({ kind: 'write', fd: 7, buf: Buffer.from('x'), offset: -1 }, { complete() {} })
    expect(() => sink.start({ kind: 'write', fd: 7, buf: Buffer.from('y'), offset: -1 }, { complete() {} })).toThrow(/one write at a time/)
  })

  it('async: write and writev start with async: true (terminals); otherwise no options', async () => {
    const f = fake([1, 1, 1])
    const sink = new OutputSink(f.p, { async: true })
    sink.start({ kind: 'write', fd: 1, buf: Buffer.from('x'), offset: -1 }, { complete() {} })
    await settle()
    sink.start({ kind: 'writev', fd: 1, bufs: [Buffer.from('y')], offset: -1 }, { complete() {} })
    await settle()
    new OutputSink(f.p).start({ kind: 'write', fd: 1, buf: Buffer.from('z'), offset: -1 }, { complete() {} })
    await settle()
    expect(f.opts).toEqual([{ async: true }, { async: true }, undefined])
  })

  it('closed and beforeSubmit are the proactor’s', async () => {
    const f = fake([])
    const sink = new OutputSink(f.p)
    expect(sink.closed).toBe(false)
    let ran = false
    sink.beforeSubmit(() => (ran = true))
    await settle()
    expect(ran).toBe(true)
  })
})

describe('OutputSink: EPIPE (in process)', () => {
  keepsStdioFlags()

  it.each([
    [true, []],
    [false, [EPIPE]],
  ])('a write to a pipe whose reader left: onEpipe() returning %s drops the completion (or passes -EPIPE on)', async (exiting, expected) => {
    const pipe = makePipe()
    closeSync(pipe.r)
    try {
      let asked = 0
      const sink = new OutputSink(getProactor(), { onEpipe: () => (asked++, exiting) })
      const results: number[] = []
      sink.start({ kind: 'write', fd: pipe.w, buf: Buffer.from('lost'), offset: -1 }, { complete: (res) => results.push(res) })
      await settle(50)
      expect(asked).toBe(1)
      expect(results).toEqual(expected)
      // Dropped or not, the write is over: the sink takes the next one.
      sink.start({ kind: 'write', fd: pipe.w, buf: Buffer.from('again'), offset: -1 }, { complete: (res) => results.push(res) })
      await settle(50)
      expect(asked).toBe(2)
    } finally {
      closeSync(pipe.w)
    }
  })

  it('every other result goes through untouched, without asking', async () => {
    const pipe = makePipe()
    try {
      let asked = 0
      const sink = new OutputSink(getProactor(), { onEpipe: () => (asked++, true) })
      const results: number[] = []
      sink.start({ kind: 'writev', fd: pipe.w, bufs: [Buffer.from('ab'), Buffer.from('c')], offset: -1 }, { complete: (res) => results.push(res) })
      await settle(50)
      expect(results).toEqual([3])
      expect((await pipe.readN(3, 16, 0)).toString()).toBe('abc')
      expect(asked).toBe(0)
    } finally {
      pipe.close()
    }
  })
})
