import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import * as sys from './sys.js'
import { AF_INET, fdCount, MORE, otherProject, pollProactor, Rec, SOCK_STREAM, socketPair } from '../../test/helpers/poll-fixtures.js'

// Sockets and files through the poll backend: poll-proactor-sockets.test.ts, poll-proactor-files.test.ts.

describe.skipIf(otherProject)('poll proactor: basics', () => {
  it('delivers a nop later, never inside the start call', async () => {
    const p = pollProactor()
    const c = new Rec()
    p.start({ kind: 'nop' }, c)
    expect(c.events).toEqual([])
    expect(p.pending).toBe(1)
    expect(await c.first()).toEqual([0, 0])
    expect(p.pending).toBe(0)
    expect(p.backend).toBe('poll')
    expect(p.supports('raw')).toBe(false) // no io_uring SQEs here
    expect(p.supports(0)).toBe(false)
    expect(p.supports('recvMultishot')).toBe(true)
  })

  it('delivers completions in order', async () => {
    const p = pollProactor()
    const order: number[] = []
    const c = new Rec()
    for (let i = 0; i < 5; i++) p.start({ kind: 'nop' }, { complete: () => order.push(i) })
    p.start({ kind: 'nop' }, c)
    await c.first()
    expect(order).toEqual([0, 1, 2, 3, 4])
  })

  it('times out with -ETIME, and repeats with MORE until cancelled', async () => {
    const p = pollProactor()
    const once = new Rec()
    p.start({ kind: 'timeout', ms: 5, repeat: false }, once)
    expect(await once.first()).toEqual([-sys.ETIME, 0])
    const rep = new Rec()
    const id = p.start({ kind: 'timeout', ms: 2, repeat: true }, rep)
    await rep.upTo(3)
    p.cancel(id)
    const n = rep.events.length
    await rep.upTo(n + 1)
    expect(rep.events.slice(0, n).every(([r, f]) => r === -sys.ETIME && f === MORE)).toBe(true)
    expect(rep.events[n]).toEqual([-sys.ECANCELED, 0])
    expect(p.pending).toBe(0)
  })

  it('cancels a pending timeout; ignores unknown ids and already-completed ops', async () => {
    const p = pollProactor()
    const t = new Rec()
    p.cancel(p.start({ kind: 'timeout', ms: 60_000, repeat: false }, t))
    expect(await t.first()).toEqual([-sys.ECANCELED, 0])
    p.cancel(123456)
    const n = new Rec()
    const id = p.start({ kind: 'nop' }, n)
    p.cancel(id) // its completion is already queued: it stands
    expect(await n.first()).toEqual([0, 0])
    p.cancel(id) // finished: ignored
  })

  it('keeps delivering when a target throws, then rethrows the first error', async () => {
    const p = pollProactor()
    const thrown: (() => void)[] = []
    const orig = globalThis.queueMicrotask
    globalThis.queueMicrotask = (fn) => thrown.push(fn)
    try {
      const last = new Rec()
      p.start({ kind: 'nop' }, { complete: () => { throw new Error('boom 1') } })
      p.start({ kind: 'nop' }, { complete: () => { throw new Error('boom 2') } })
      p.start({ kind: 'nop' }, last)
      await last.first()
    } finally {
      globalThis.queueMicrotask = orig
    }
    expect(thrown).toHaveLength(1)
    expect(() => thrown[0]!()).toThrow('boom 1')
  })
})

describe.skipIf(otherProject)('poll proactor: close()', () => {
  it('cancels everything, is idempotent, leaves no fd behind, then refuses to start', async () => {
    const before = fdCount()
    const p = pollProactor()
    const [a, b] = socketPair()
    const recv = new Rec()
    const tmo = new Rec()
    const pl = new Rec()
    p.start({ kind: 'recv', fd: a, buf: Buffer.alloc(8), flags: 0 }, recv)
    p.start({ kind: 'timeout', ms: 60_000, repeat: true }, tmo)
    p.start({ kind: 'poll', fd: b, events: sys.POLLIN, multishot: true }, pl)
    const g = p.bufferGroup(2, 64)
    p.start({ kind: 'recvMultishot', fd: b, group: g }, pl)
    await sleep(5)
    expect(p.pending).toBe(4)
    p.shutdown()
    expect(p.closed).toBe(true)
    expect(p.pending).toBe(0)
    expect(recv.events).toEqual([[-sys.ECANCELED, 0]])
    expect(tmo.events).toEqual([[-sys.ECANCELED, 0]])
    expect(pl.events).toEqual([[-sys.ECANCELED, 0], [-sys.ECANCELED, 0]])
    expect(g.available).toBe(0) // freed
    p.shutdown()
    expect(() => p.start({ kind: 'nop' }, new Rec())).toThrow(/closed/)
    expect(() => p.socket(AF_INET, SOCK_STREAM, 0)).toThrow(/closed/)
    sys.close(a)
    sys.close(b)
    expect(fdCount()).toBe(before)
  })
})
