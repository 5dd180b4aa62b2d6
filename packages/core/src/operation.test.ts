/**
 * One-shot operations as Promises (`run`): cancellation with an AbortSignal, errors as `IoError`, and bad arguments thrown at the call site with nothing submitted.
 * On whichever backend the vitest project selects (`RINGIO_BACKEND`), through the public API, against the real kernel.
 */
import { closeSync, mkdtempSync, readSync, rmSync, writeSync } from 'node:fs'
import { getEventListeners } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { match, P } from 'ts-pattern'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { getProactor, interval, IoError, nop, poll, PollEvents, read, readv, timer, write, writev } from './transport.js'
import { BACKEND } from '../test/helpers/fds.js'
import { BAD_FD, fifo, settleWithin, tcpPair } from '../test/helpers/core-fixtures.js'

let dir = ''
beforeAll(() => {
  dir = mkdtempSync('/var/tmp/ringio-core-')
})
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

describe(`operation on the ${BACKEND} backend`, () => {
  describe('cancellation with AbortSignal', () => {
    it('aborting a read blocked on an empty FIFO rejects it with AbortError and consumes nothing', async () => {
      const fd = fifo(dir, 'abort-read')
      const p = getProactor()
      const before = p.pending
      try {
        const ac = new AbortController()
        const buf = Buffer.alloc(16)
        const pr = read(fd, buf, -1, { signal: ac.signal })
        await sleep(20) // let it reach the kernel / the backend's wait
        expect(p.pending).toBe(before + 1)
        ac.abort()
        const out = await settleWithin(pr, 1000)
        if (out.state === 'pending') {
          // Unblock whatever still waits on the FIFO so the process can exit, then fail.
          writeSync(fd, 'u')
          await settleWithin(pr, 1000)
          expect.fail('the read was still pending 1 s after abort(): the abort did not cancel it')
        }
        expect(out.state).toBe('rejected')
        expect((out as { reason: Error }).reason.name).toBe('AbortError')
        expect(p.pending).toBe(before)
        // The cancelled read took nothing: the next byte written is still there to read.
        writeSync(fd, 'z')
        const got = Buffer.alloc(4)
        expect(readSync(fd, got, 0, 4, null)).toBe(1)
        expect(got.toString('latin1', 0, 1)).toBe('z')
      } finally {
        closeSync(fd)
      }
    })

    it("aborting a read on an idle socket of the backend's own rejects it with the signal's reason", async () => {
      const { a, b, cleanup } = await tcpPair()
      try {
        const p = getProactor()
        const before = p.pending
        const ac = new AbortController()
        const pr = read(a, Buffer.alloc(16), -1, { signal: ac.signal })
        await sleep(20)
        const reason = new Error('user gave up')
        ac.abort(reason)
        const out = await settleWithin(pr, 1000)
        expect(out).toEqual({ state: 'rejected', reason })
        expect(p.pending).toBe(before)
        // Nothing was consumed by the cancelled read.
        expect(await write(b, Buffer.from('hi'))).toBe(2)
        const got = Buffer.alloc(16)
        expect(await read(a, got)).toBe(2)
        expect(got.toString('latin1', 0, 2)).toBe('hi')
      } finally {
        await cleanup()
      }
    })

    it('a signal shared by many operations keeps no listener once they complete', async () => {
      const ac = new AbortController()
      await Promise.all(Array.from({ length: 1000 }, () => nop({ signal: ac.signal })))
      expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0)
      ac.abort() // nothing left to cancel, nothing throws
    })

    it('a signal aborted before the call rejects without submitting anything', async () => {
      const p = getProactor()
      const before = p.pending
      const ac = new AbortController()
      ac.abort()
      const fd = fifo(dir, 'pre-aborted')
      try {
        const r1 = read(fd, Buffer.alloc(4), -1, { signal: ac.signal })
        const r2 = nop({ signal: ac.signal })
        expect(p.pending).toBe(before)
        await expect(r1).rejects.toMatchObject({ name: 'AbortError' })
        await expect(r2).rejects.toMatchObject({ name: 'AbortError' })
        expect(p.pending).toBe(before)
      } finally {
        closeSync(fd)
      }
    })
  })

  describe('errors', () => {
    it('a read on a bad fd rejects with IoError EBADF, matched with ts-pattern', async () => {
      const err: unknown = await read(BAD_FD, Buffer.alloc(8), 0).then(
        () => expect.fail('read on a bad fd resolved'),
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(IoError)
      expect(IoError.is(err)).toBe(true)
      expect(err).toMatchObject({ name: 'IoError', code: 'EBADF', errno: 9, op: 'read', handle: BAD_FD })
      expect((err as Error).message).toContain('EBADF')
      const how = match(err)
        .with({ code: 'ECONNRESET' }, () => 'reset')
        .with({ code: 'EBADF', op: P.string, handle: P.number }, (e) => `bad fd ${e.handle} in ${e.op}`)
        .otherwise(() => 'other')
      expect(how).toBe(`bad fd ${BAD_FD} in read`)
    })

    it('bad arguments throw synchronously, naming the argument, and submit nothing', () => {
      const p = getProactor()
      const before = p.pending
      const buf = Buffer.alloc(4)
      expect(() => read(-1, buf)).toThrow(/\bfd\b/)
      expect(() => read(1.5, buf)).toThrow(/\bfd\b/)
      expect(() => read(0, buf, 'x' as unknown as number)).toThrow(/\boffset\b/)
      expect(() => read(0, buf, -2)).toThrow(/\boffset\b/)
      expect(() => read(0, 'not a buffer' as unknown as Buffer)).toThrow(/\bbuf\b/)
      expect(() => write(0, null as unknown as Buffer)).toThrow(/\bbuf\b/)
      expect(() => readv(0, [])).toThrow(/\bbuffers\b/)
      expect(() => writev(0, [buf, 'x' as unknown as Buffer])).toThrow(/buffers\[1\]/)
      expect(() => interval(0)).toThrow(/\bms\b/)
      expect(() => timer(Number.NaN)).toThrow(/\bms\b/)
      expect(() => timer(-1)).toThrow(/\bms\b/)
      expect(() => poll(-1, PollEvents.IN)).toThrow(/\bfd\b/)
      expect(() => nop({ signal: 'x' as unknown as AbortSignal })).toThrow(/\bsignal\b/)
      expect(p.pending).toBe(before)
    })
  })

})
