import type { Completion, OpId, Proactor } from '@ringio/core'
import { describe, expect, it } from 'vitest'
import { withEagainRetry } from './eagain-retry.js'

const EAGAIN = -11
const ECANCELED = -125

/** A scripted proactor: each write completes with the next result of `results`; polls complete with POLLOUT. */
function fake(results: number[]) {
  const log: string[] = []
  const pending = new Map<OpId, Completion>()
  let id = 1
  const p = {
    backend: 'uring',
    closed: false,
    write(fd: number, buf: Uint8Array, _off: number, c: Completion): OpId {
      const my = id++
      log.push(`write ${fd} ${buf.length}`)
      const res = results.shift()!
      queueMicrotask(() => c.complete(res, 0))
      return my
    },
    poll(fd: number, events: number, _multi: boolean, c: Completion): OpId {
      const my = id++
      log.push(`poll ${fd} ${events}`)
      pending.set(my, c)
      return my
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
  return { p: p as unknown as Proactor, log, ready }
}

const settle = () => new Promise((r) => setTimeout(r, 0))

describe('withEagainRetry', () => {
  it('turns EAGAIN into a POLLOUT wait and the same write again', async () => {
    const f = fake([EAGAIN, EAGAIN, 5])
    const got: number[] = []
    withEagainRetry(f.p).write(7, Buffer.from('hello'), -1, { complete: (r) => got.push(r) })
    await settle()
    expect(f.log).toEqual(['write 7 5', 'poll 7 4'])
    f.ready()
    await settle()
    f.ready()
    await settle()
    expect(f.log).toEqual(['write 7 5', 'poll 7 4', 'write 7 5', 'poll 7 4', 'write 7 5'])
    expect(got).toEqual([5])
  })

  it('passes other results through untouched', async () => {
    const f = fake([-32])
    const got: number[] = []
    withEagainRetry(f.p).write(7, Buffer.from('x'), -1, { complete: (r) => got.push(r) })
    await settle()
    expect(got).toEqual([-32])
  })

  it('cancel follows the operation to its poll', async () => {
    const f = fake([EAGAIN])
    const got: number[] = []
    const w = withEagainRetry(f.p)
    const id = w.write(7, Buffer.from('x'), -1, { complete: (r) => got.push(r) })
    await settle()
    w.cancel(id)
    await settle()
    expect(f.log.at(-1)).toMatch(/^cancel \d+$/)
    expect(got).toEqual([ECANCELED])
  })

  it('is the proactor for everything else', () => {
    const f = fake([])
    const w = withEagainRetry(f.p)
    expect(w.backend).toBe('uring')
    expect(w.closed).toBe(false)
  })
})
