/**
 * NOP round trips through the public `nop()` and the raw `Completion` form: each completion reaches its own target exactly once.
 * On whichever backend the vitest project selects (`RINGIO_BACKEND`), through the public API, against the real kernel.
 */
import { describe, expect, it } from 'vitest'
import { getProactor, nop } from './transport.js'
import { BACKEND } from '../test/helpers/fds.js'


describe(`nop on the ${BACKEND} backend`, () => {
  describe('NOP', () => {
    it('round-trips through the public nop() and the Completion form', async () => {
      expect(await nop()).toBe(0)

      const p = getProactor()
      const before = p.pending
      const got: [number, number][] = []
      const done = new Promise<void>((resolve) => {
        p.start({ kind: 'nop' }, { complete: (res, flags) => { got.push([res, flags]); resolve() } })
      })
      // Never completed inside the start call.
      expect(got).toEqual([])
      expect(p.pending).toBe(before + 1)
      await done
      expect(got).toEqual([[0, 0]])
      expect(p.pending).toBe(before)
    })

    it('completes 100 000 NOPs through nop(), in chunks', async () => {
      const N = 100_000
      const CHUNK = 10_000
      let ok = 0
      for (let i = 0; i < N; i += CHUNK) {
        const results = await Promise.all(Array.from({ length: CHUNK }, () => nop()))
        for (const r of results) if (r === 0) ok++
      }
      expect(ok).toBe(N)
      expect(getProactor().pending).toBe(0)
    })

    it('delivers each of 100 000 raw NOPs to its own target exactly once', async () => {
      const p = getProactor()
      const N = 100_000
      const hits = new Uint8Array(N)
      let done = 0
      let bad = 0
      await new Promise<void>((resolve) => {
        for (let i = 0; i < N; i++) {
          // One target object per operation: a user_data mix-up would hit the wrong index.
          p.start({ kind: 'nop' }, {
            complete: (res) => {
              if (res !== 0) bad++
              hits[i]!++
              if (++done === N) resolve()
            },
          })
        }
      })
      expect(bad).toBe(0)
      expect(hits.every((h) => h === 1)).toBe(true)
      expect(p.pending).toBe(0)
    })
  })

})
