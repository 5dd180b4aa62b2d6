/**
 * The io_uring ring's life cycle against the real kernel: no fd and no
 * mapping outlives a closed proactor, and the probe sees the operations the
 * other packages need.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { setImmediate as turn } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import type { Completion } from '../proactor.js'
import { UringProactor } from './uring-proactor.js'

/** What this process holds: every fd, fds by kind, and /proc/self/maps lines (all, and the io_uring ones). */
function snapshot(): { fds: number; ringFds: number; eventFds: number; maps: number; ringMaps: number } {
  let fds = 0
  let ringFds = 0
  let eventFds = 0
  for (const name of readdirSync('/proc/self/fd')) {
    let target = ''
    try {
      target = readlinkSync(`/proc/self/fd/${name}`)
    } catch {
      continue // the fd readdir itself used, closed by now
    }
    fds++
    if (target === 'anon_inode:[io_uring]') ringFds++
    else if (target === 'anon_inode:[eventfd]') eventFds++
  }
  const lines = readFileSync('/proc/self/maps', 'utf8').trimEnd().split('\n')
  return { fds, ringFds, eventFds, maps: lines.length, ringMaps: lines.filter((l) => l.includes('io_uring')).length }
}

// This file tests the io_uring backend itself; under the poll project
// (RINGIO_BACKEND=poll, e.g. a host where io_uring is denied) it has nothing to test.
describe.skipIf(process.env['RINGIO_BACKEND'] === 'poll')('io_uring ring life cycle', () => {
  it('creating and closing a UringProactor 1000 times leaves no fd and no mapping behind', async () => {
    const cycle = (n: number): void => {
      for (let i = 0; i < n; i++) new UringProactor().shutdown() // default sizes: 1024 SQEs, 8192 CQEs
    }
    // Warm-up: lets V8 and koffi settle their own mappings (JIT code space, heap pages) first.
    cycle(100)
    await turn()
    const before = snapshot()
    cycle(1000)
    await turn() // libuv closes poll handles on the next loop turn
    const after = snapshot()
    expect(after.ringFds).toBe(before.ringFds)
    expect(after.eventFds).toBe(before.eventFds)
    expect(after.fds).toBe(before.fds)
    expect(after.ringMaps).toBe(before.ringMaps)
    // Each leaked ring would leave 2 mappings (rings + SQEs): 2000 lines. V8 may
    // add or merge a few heap mappings on its own; anything near 1 per cycle is a leak.
    expect(Math.abs(after.maps - before.maps)).toBeLessThan(50)
  })

  it('closing with operations in flight and a buffer group registered leaves nothing behind either', async () => {
    const cycle = async (n: number): Promise<number> => {
      let cancelled = 0
      for (let i = 0; i < n; i++) {
        const p = new UringProactor({ entries: 64 })
        const g = p.bufferGroup(8, 4096)
        const c: Completion = { complete: (res) => { if (res === -125) cancelled++ } }
        p.start({ kind: 'timeout', ms: 60_000, repeat: false }, c)
        p.start({ kind: 'nop' }, c)
        await turn() // submitted: the timeout is in the kernel
        p.shutdown()
        g.close() // after the proactor: must be harmless
      }
      return cancelled
    }
    await cycle(20)
    const before = snapshot()
    const cancelled = await cycle(300)
    await turn()
    const after = snapshot()
    expect(cancelled).toBe(300) // every in-flight timeout saw ECANCELED
    expect(after.ringFds).toBe(before.ringFds)
    expect(after.eventFds).toBe(before.eventFds)
    expect(after.fds).toBe(before.fds)
    expect(after.ringMaps).toBe(before.ringMaps)
    // A leaked buffer ring would leave 2 anonymous mappings per cycle (600 lines).
    expect(Math.abs(after.maps - before.maps)).toBeLessThan(50)
  })

  it('the probe reports NOP, READ, RECV and ACCEPT as supported', () => {
    const p = new UringProactor({ entries: 8 })
    try {
      for (const op of ['nop', 'read', 'recv', 'accept'] as const) expect(p.supports(op), op).toBe(true)
    } finally {
      p.shutdown()
    }
  })
})
