/**
 * Shutting the proactor down right after ops were started in the same turn
 * (a listener unsubscribed, then `closeProactor()` — what a worker does when
 * it stops): a CLOSE still waiting in the submission queue must reach the
 * kernel, or its fd stays open for the life of the process.
 */
import { closeSync, fstatSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { pipe2, socketPair } from '../test/helpers/fds.js'
import * as sys from './poll/sys.js'
import { closeProactor, ECANCELED, getProactor, nop } from './transport.js'

describe('shutdown', () => {
  it('a close started just before closeProactor() still closes its fd', async () => {
    await nop() // a live proactor
    const fds = Buffer.alloc(8)
    expect(pipe2(fds, sys.O_CLOEXEC)).toBe(0)
    const [r, w] = [fds.readInt32LE(0), fds.readInt32LE(4)]
    const results: number[] = []
    const p = getProactor()
    p.start({ kind: 'close', fd: r }, { complete: (res) => results.push(res) })
    p.start({ kind: 'close', fd: w }, { complete: (res) => results.push(res) })
    closeProactor() // same turn: nothing was submitted yet
    expect(results.length).toBe(2) // every target hears of the shutdown before it returns
    expect(() => fstatSync(r)).toThrow(expect.objectContaining({ code: 'EBADF' }))
    expect(() => fstatSync(w)).toThrow(expect.objectContaining({ code: 'EBADF' }))
    expect(await nop()).toBe(0) // the next op gets a new proactor
  })

  it('a send started just before closeProactor() is either reported as sent or was never sent', async () => {
    await nop()
    const [a, b] = socketPair(1, [])
    let res: number | undefined
    getProactor().start({ kind: 'send', fd: a, buf: Buffer.from('x'), flags: 0 }, { complete: (r) => (res = r) })
    closeProactor()
    expect(res).toBeDefined()
    const got = Buffer.alloc(8)
    const n = sys.recv(b, got, 8, sys.MSG_DONTWAIT)
    if (res === -ECANCELED) expect(n).toBe(-1) // nothing reached the peer
    else expect(n).toBe(res)
    closeSync(a)
    closeSync(b)
    expect(await nop()).toBe(0)
  })
})
