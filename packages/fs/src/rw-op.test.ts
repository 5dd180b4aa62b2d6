import type { Completion, Op } from '@ringio/core/transport'
import { beforeEach, describe, expect, it, vi } from 'vitest'

// A proactor whose reads and writes complete as the test says: short, zero, errors.
interface Call {
  op: 'read' | 'write'
  fd: number
  len: number
  offset: number
  c: Completion
}
const calls: Call[] = []
const cancels: number[] = []
let nextId = 1
const fake = {
  start: (op: Op, c: Completion) => {
    if (op.kind !== 'read' && op.kind !== 'write') throw new Error(`unexpected op ${op.kind}`)
    calls.push({ op: op.kind, fd: op.fd, len: op.buf.length, offset: op.offset, c })
    return nextId++
  },
  cancel: (id: number) => void cancels.push(id),
}
vi.mock('@ringio/core/transport', async (orig) => ({ ...(await orig<typeof import('@ringio/core/transport')>()), getProactor: () => fake }))

const { startRw } = await import('./rw-op.js')

const owner = { path: '/x/file', done: 0, opDone(): void { this.done++ } }
/** Completes the oldest call with `res` and returns it. */
const complete = (res: number): Call => {
  const call = calls.shift()!
  call.c.complete(res, 0)
  return call
}

beforeEach(() => {
  calls.length = 0
  cancels.length = 0
  owner.done = 0
})

describe('the File.read/write hot path (rw-op)', () => {
  it('a buffered read resumes short completions at the exact byte, and stops at end of file', async () => {
    const p = startRw(owner, false, 'read', 7, Buffer.alloc(10_000), 100, 0, undefined, undefined, -1)
    expect(complete(3000)).toMatchObject({ fd: 7, len: 10_000, offset: 100 })
    expect(complete(1)).toMatchObject({ len: 7000, offset: 3100 })
    expect(complete(0)).toMatchObject({ len: 6999, offset: 3101 }) // end of file
    await expect(p).resolves.toBe(3001)
    expect(owner.done).toBe(1)
    expect(calls).toHaveLength(0)
  })

  it('an O_DIRECT read resumes only at a block boundary: an unaligned count is the end of the file', async () => {
    const a = startRw(owner, false, 'read', 3, Buffer.alloc(16384), 0, 4096, undefined, undefined, -1)
    complete(8192)
    expect(complete(4000)).toMatchObject({ len: 8192, offset: 8192 })
    await expect(a).resolves.toBe(12192)
    expect(calls).toHaveLength(0)
  })

  it('a write moves every byte; 0 written or an unaligned O_DIRECT stop is EIO naming the path', async () => {
    const w = startRw(owner, true, 'write', 3, Buffer.alloc(100), 50, 0, undefined, undefined, -1)
    complete(60)
    expect(complete(40)).toMatchObject({ op: 'write', len: 40, offset: 110 })
    await expect(w).resolves.toBe(100)

    const appended = startRw(owner, true, 'write', 3, Buffer.alloc(10), 500, 0, undefined, undefined, 500)
    complete(10)
    await expect(appended).resolves.toBe(500) // an append resolves with its offset

    const zero = startRw(owner, true, 'write', 3, Buffer.alloc(100), 0, 0, undefined, undefined, -1)
    complete(0)
    await expect(zero).rejects.toMatchObject({ name: 'IoError', code: 'EIO', op: 'write', handle: '/x/file' })

    const unaligned = startRw(owner, true, 'write', 3, Buffer.alloc(8192), 0, 4096, undefined, undefined, -1)
    complete(1000)
    await expect(unaligned).rejects.toMatchObject({ code: 'EIO', message: expect.stringContaining('unaligned byte 1000') })
    expect(owner.done).toBe(4)
  })

  it('errors name the path; an abort cancels what is in flight and rejects with the reason', async () => {
    const e = startRw(owner, false, 'read', 3, Buffer.alloc(10), 0, 0, undefined, undefined, -1)
    complete(-5)
    await expect(e).rejects.toMatchObject({ name: 'IoError', code: 'EIO', op: 'read', handle: '/x/file', message: 'read failed: EIO (/x/file)' })

    const ac = new AbortController()
    const r = startRw(owner, false, 'read', 3, Buffer.alloc(10), 0, 0, ac.signal, undefined, -1)
    ac.abort(new Error('stop'))
    expect(cancels).toHaveLength(1)
    complete(-125)
    await expect(r).rejects.toThrow('stop')

    const pre = startRw(owner, false, 'read', 3, Buffer.alloc(10), 0, 0, ac.signal, undefined, -1)
    await expect(pre).rejects.toThrow('stop') // already aborted: nothing submitted
    expect(calls).toHaveLength(0)
    expect(owner.done).toBe(3)
  })

  it('recycled operations carry nothing over: a later one without a signal is not cancelled by an old signal', async () => {
    const ac = new AbortController()
    const first = startRw(owner, false, 'read', 3, Buffer.alloc(10), 0, 0, ac.signal, undefined, -1)
    complete(10)
    await expect(first).resolves.toBe(10)
    const second = startRw(owner, false, 'read', 3, Buffer.alloc(10), 0, 0, undefined, undefined, -1)
    ac.abort()
    expect(cancels).toHaveLength(0)
    complete(4)
    expect(complete(6)).toMatchObject({ len: 6, offset: 4 })
    await expect(second).resolves.toBe(10)
  })
})
