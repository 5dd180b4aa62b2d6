// A reader that stops reading must not take the writer's process hostage:
// the event loop keeps running while a write waits (timers fire), and
// `exit(code, { timeout })` ends the process promptly with the bytes still
// queued. Real child processes on the built package: stdout is a pipe nobody
// reads, or a terminal nobody reads.
import { beforeAll, describe, expect, it } from 'vitest'
import { getProactor } from '@ringio/core/transport'
import { ensureBuilt } from './helpers/build.js'
import { makePipe } from './helpers/fifo.js'
import { openPtyPair } from './helpers/pty-pair.js'
import { events, exited, node } from './helpers/processes.js'

beforeAll(ensureBuilt, 180_000)

/** Runs the fixture with `stdout`; kills it after `limitMs` if it has not ended (a hang). */
async function stalled(stdout: number, bytes: number, limitMs = 5000) {
  const t0 = Date.now()
  const child = node('stalled-write.mjs', [String(bytes), '200'], ['ignore', stdout, 'pipe'])
  const killer = setTimeout(() => child.kill('SIGKILL'), limitMs)
  const r = await exited(child)
  clearTimeout(killer)
  return { ...r, ms: Date.now() - t0, ev: events(r.stderr).find((e) => e.type === 'stalled') }
}

getProactor()

describe('a stalled reader', () => {
  it('pipe: timers keep firing while 4 MiB wait, and exit({ timeout }) ends the process', async () => {
    const p = makePipe()
    try {
      const r = await stalled(p.w, 4 << 20)
      expect(r.signal, r.stderr).toBeNull() // not killed: it exited by itself
      expect(r.code).toBe(3)
      expect(r.ev).toMatchObject({ type: 'stalled' })
      expect(r.ev!['ticks']).toBeGreaterThan(10)
      expect(r.ev!['queued']).toBeGreaterThan(0) // the pipe (64 KiB) took only part of it
    } finally {
      p.close()
    }
  })

  // On the poll backend a shared terminal is written by a blocking write on
  // libuv's threadpool: the loop keeps running, and exit({ timeout }) ends the
  // process with _exit rather than joining that thread.
  it('terminal: timers keep firing while 1 MiB waits, and exit({ timeout }) ends the process', async () => {
    const pty = openPtyPair()
    try {
      const r = await stalled(pty.slave, 1 << 20)
      expect(r.signal, r.stderr).toBeNull()
      expect(r.code).toBe(3)
      expect(r.ev!['ticks']).toBeGreaterThan(10)
      expect(r.ev!['queued']).toBeGreaterThan(0)
    } finally {
      pty.close()
    }
  })
})
