/**
 * `poll(fd, events)`: readiness of a foreign fd as an Observable.
 * On whichever backend the vitest project selects (`RINGIO_BACKEND`), through the public API, against the real kernel.
 */
import { closeSync, mkdtempSync, readSync, rmSync, writeSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { getProactor, IoError, poll, PollEvents, read } from './transport.js'
import { BACKEND } from '../test/helpers/fds.js'
import { BAD_FD, fifo, until } from '../test/helpers/core-fixtures.js'

let dir = ''
beforeAll(() => {
  dir = mkdtempSync('/var/tmp/ringio-core-')
})
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

describe(`readiness-observable on the ${BACKEND} backend`, () => {
  describe('poll(fd, events)', () => {
    it('emits when a FIFO becomes readable and stops on unsubscribe', async () => {
      const fd = fifo(dir, 'poll')
      const p = getProactor()
      const before = p.pending
      try {
        const seen: number[] = []
        const sub = poll(fd, PollEvents.IN).subscribe({ next: (ev) => seen.push(ev), error: (e: unknown) => expect.fail(String(e)) })
        await sleep(20)
        expect(seen).toEqual([]) // nothing to read yet
        writeSync(fd, 'x')
        await until(() => seen.length > 0, 2000, 'POLLIN')
        expect(seen[0]! & PollEvents.IN).toBe(PollEvents.IN)
        expect(readSync(fd, Buffer.alloc(4), 0, 4, null)).toBe(1)
        sub.unsubscribe()
        await sleep(10)
        const n = seen.length
        writeSync(fd, 'y')
        await sleep(40)
        expect(seen.length).toBe(n)
        await until(() => p.pending === before, 1000, 'the poll to leave the proactor')
        expect(readSync(fd, Buffer.alloc(4), 0, 4, null)).toBe(1) // 'y' still there: poll consumed nothing
      } finally {
        closeSync(fd)
      }
    })

    it('errors with IoError EBADF for a bad fd', async () => {
      const err = await new Promise<unknown>((resolve) => {
        poll(BAD_FD, PollEvents.IN).subscribe({ next: () => resolve(new Error('emitted')), error: resolve, complete: () => resolve(new Error('completed')) })
      })
      expect(err).toMatchObject({ name: 'IoError', code: 'EBADF', op: 'poll', handle: BAD_FD })
    })
  })

})
