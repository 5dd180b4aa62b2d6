/**
 * `timer` and `interval`: not early, once per tick, and nothing left in the proactor after unsubscribe.
 * On whichever backend the vitest project selects (`RINGIO_BACKEND`), through the public API, against the real kernel.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { backend, getProactor, interval, timer } from './transport.js'
import { BACKEND } from '../test/helpers/fds.js'
import { until } from '../test/helpers/core-fixtures.js'


describe(`timers on the ${BACKEND} backend`, () => {
  describe('timers', () => {
    it('timer(ms) emits 0 once, not early, then completes', async () => {
      const t0 = performance.now()
      const values: number[] = []
      await new Promise<void>((resolve, reject) => {
        timer(25).subscribe({ next: (v) => values.push(v), complete: resolve, error: reject })
      })
      expect(values).toEqual([0])
      // Timer slack: the kernel's hrtimer may fire a hair early relative to performance.now() rounding.
      expect(performance.now() - t0).toBeGreaterThanOrEqual(24)
    })

    it('interval(ms) ticks 0, 1, 2, … and stops on unsubscribe', async () => {
      const p = getProactor()
      const before = p.pending
      const ticks: number[] = []
      const sub = interval(5).subscribe((v) => ticks.push(v))
      await until(() => ticks.length >= 4, 2000, '4 ticks')
      sub.unsubscribe()
      const n = ticks.length
      await sleep(40)
      expect(ticks.length).toBe(n)
      expect(ticks).toEqual(Array.from({ length: n }, (_, i) => i))
      await until(() => p.pending === before, 1000, 'the interval to leave the proactor')
    })

    it('timer(0) fires, and fractional delays (documented as kept to the nanosecond) are accepted', async () => {
      for (const ms of [0, 1.5, 2.25]) {
        const t0 = performance.now()
        const values = await new Promise<number[]>((resolve, reject) => {
          const got: number[] = []
          timer(ms).subscribe({ next: (v) => got.push(v), complete: () => resolve(got), error: reject })
        })
        expect(values, `timer(${ms})`).toEqual([0])
        expect(performance.now() - t0).toBeGreaterThanOrEqual(Math.floor(ms))
      }
    })

    it('2000 timers started in one turn each fire once, none early', async () => {
      // More timeouts than SQEs in one turn: each SQE's timespec must still be its own.
      const N = 2000
      const t0 = performance.now()
      const early: string[] = []
      let fired = 0
      await new Promise<void>((resolve, reject) => {
        for (let i = 0; i < N; i++) {
          const ms = 1 + (i % 25)
          timer(ms).subscribe({
            next: () => {
              const dt = performance.now() - t0
              if (dt < ms - 1) early.push(`timer(${ms}) after ${dt.toFixed(2)} ms`)
            },
            complete: () => { if (++fired === N) resolve() },
            error: reject,
          })
        }
      })
      expect(early).toEqual([])
      expect(fired).toBe(N)
    })

    it('a timer unsubscribed before it fires never fires, whether or not it was submitted', async () => {
      const p = getProactor()
      const before = p.pending
      let fired = 0
      // Unsubscribed in the same turn: the cancel rides in the same batch as the timeout.
      timer(20).subscribe(() => fired++).unsubscribe()
      // Unsubscribed while in flight in the kernel.
      const sub = timer(30).subscribe(() => fired++)
      await sleep(5)
      sub.unsubscribe()
      await sleep(80)
      expect(fired).toBe(0)
      await until(() => p.pending === before, 1000, 'cancelled timers to leave the proactor')
    })
  })

})
