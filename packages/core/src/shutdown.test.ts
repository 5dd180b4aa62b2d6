/**
 * Shutting the proactor down right after ops were started in the same turn
 * (a listener unsubscribed, then `closeProactor()` — what a worker does when
 * it stops): a CLOSE still waiting in the submission queue must reach the
 * kernel, or its fd stays open for the life of the process.
 */
import { fstatSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { pipe2 } from '../test/helpers/fds.js'
import * as sys from './poll/sys.js'
import { closeProactor, getProactor, nop } from './transport.js'

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
})
