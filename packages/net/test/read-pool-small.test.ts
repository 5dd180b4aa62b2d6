/**
 * Issue 4, section 3: "a pool of 8 read buffers serving 200 busy connections
 * loses nothing". The pool is sized once per process, before the first read:
 * this file runs in its own fork (vitest pool 'forks' isolates files), so the
 * tiny pool does not leak into the other tests.
 */
import { configureReadPool } from '@ringio/net'

// Before anything reads: the shared pool is created on first use.
configureReadPool({ count: 8, size: 4096 })

import { describe, expect, it } from 'vitest'
import { connect, type Connection } from '@ringio/net'
import { readPool } from '../src/read-pool.js'
import { pattern, rng, serve, sleep, within } from './helpers.js'

const BACKEND = process.env['RINGIO_BACKEND']
const CLIENTS = 200
const EACH = 64 * 1024

describe(`a read pool of 8 x 4 KiB (${BACKEND})`, () => {
  it('serves 200 busy echo connections without losing or reordering a byte', async () => {
    // Count how often a socket found the pool dry (-ENOBUFS, then waits for a release): the
    // starved path must actually run for this test to mean anything.
    const pool = readPool()
    let starved = 0
    const onRelease = pool.onRelease.bind(pool)
    pool.onRelease = (fn) => {
      starved++
      onRelease(fn)
    }
    let accepted = 0
    const srv = await serve((c: Connection) => {
      const lent = accepted++ % 2 === 1
      if (lent) {
        // Zero-copy half: each pooled buffer stays lent until its echo was taken by the kernel.
        c.lent$.subscribe({
          next: ({ data, release }) => void c.write(data).finally(release),
          complete: () => void c.end(),
        })
      } else {
        c.data$.subscribe({ next: (b) => void c.write(b), complete: () => void c.end() })
      }
    })
    const run = async (i: number): Promise<void> => {
      const conn = await connect({ port: srv.port })
      const data = pattern(EACH, 1000 + i)
      const got: Buffer[] = []
      const done = new Promise<void>((resolve, reject) =>
        conn.data$.subscribe({ next: (b) => got.push(b), complete: resolve, error: reject }),
      )
      const r = rng(i)
      for (let off = 0; off < EACH; ) {
        const n = Math.min(EACH - off, 1 + Math.floor(r() * 8192))
        void conn.write(data.subarray(off, off + n))
        off += n
        if (r() < 0.2) await sleep(0)
      }
      await conn.end()
      await done
      const all = Buffer.concat(got)
      if (!all.equals(data)) {
        let at = 0
        while (at < Math.min(all.length, data.length) && all[at] === data[at]) at++
        throw new Error(`client ${i}: echoed ${all.length}/${data.length} bytes, first difference at ${at}`)
      }
      conn.close()
    }
    const results = await within(Promise.allSettled(Array.from({ length: CLIENTS }, (_, i) => run(i))), 30_000, 'the 200 echo clients')
    const failures = results.filter((x): x is PromiseRejectedResult => x.status === 'rejected').map((x) => String(x.reason))
    expect(failures.slice(0, 5)).toEqual([])
    expect(accepted).toBe(CLIENTS)
    srv.stop()
    // Every pooled buffer came back (lent chunks were all released).
    await sleep(50)
    console.log(`[${BACKEND}] ${starved} waits for a free pool buffer`)
    expect(starved).toBeGreaterThan(0)
    expect(readPool()).toBe(pool)
    expect(pool.count).toBe(8)
    expect(pool.size).toBe(4096)
    expect(pool.available).toBe(8)
  }, 40_000)
})
