import { describe, expect, it } from 'vitest'
import { UringProactor } from './uring-proactor.js'
import type { Completion } from '../proactor.js'

function once(start: (c: Completion) => number): Promise<[number, number]> {
  return new Promise((resolve) => start({ complete: (res, flags) => resolve([res, flags]) }))
}

describe('UringProactor', () => {
  it('round-trips a NOP on the loop', async () => {
    const p = new UringProactor()
    try {
      const [res] = await once((c) => p.nop(c))
      expect(res).toBe(0)
      expect(p.pending).toBe(0)
    } finally {
      p.close()
    }
  })

  it('completes 100 000 NOPs each with its own user_data', async () => {
    const p = new UringProactor({ entries: 256 })
    try {
      const n = 100_000
      const seen = new Uint8Array(n)
      let done = 0
      await new Promise<void>((resolve) => {
        for (let i = 0; i < n; i++) {
          p.nop({ complete: (res) => { expect(res).toBe(0); seen[i]!++; if (++done === n) resolve() } })
        }
      })
      expect(seen.every((x) => x === 1)).toBe(true)
    } finally {
      p.close()
    }
  })

  it('fires a timeout and cancels another one', async () => {
    const p = new UringProactor()
    try {
      const t0 = performance.now()
      const [res] = await once((c) => p.timeout(20, false, c))
      expect(res).toBe(-62)
      expect(performance.now() - t0).toBeGreaterThanOrEqual(15)
      const r = once((c) => { const id = p.timeout(10_000, false, c); p.cancel(id); return id })
      expect((await r)[0]).toBe(-125)
    } finally {
      p.close()
    }
  })
})
