/**
 * `conn.data$.pipe(writeTo(dest))` sends the received pool buffers themselves
 * (zero copy) while at most half of the read pool is lent out that way, and
 * copies past that. The pool is tiny here (its own fork: vitest isolates
 * files), so the cap is what keeps 48 receives sharing 32 buffers moving: an
 * echo behind a proxy, where each direction waits on the other, would
 * deadlock if lent buffers could take the whole pool.
 */
import { configureReadPool } from '@ringio/net'

// Before anything reads: the shared pool is created on first use.
configureReadPool({ count: 32, size: 16384 })

import { describe, expect, it } from 'vitest'
import { merge, mergeMap, from, finalize } from 'rxjs'
import { connect, listen, writeTo, type Connection } from '@ringio/net'
import { readPool } from '../src/read-pool.js'
import { fdCount, pattern, serve, streamPeer, until } from './helpers.js'

const BACKEND = process.env['RINGIO_BACKEND']
const CLIENTS = 12
const EACH = 8 << 20
const SRC = pattern(1 << 20, 77)

describe(`writeTo lends pool buffers, up to half the pool (${BACKEND})`, () => {
  it(`echoes ${CLIENTS} x ${EACH >> 20} MiB through a writeTo proxy byte-exact, some clients slow, and gives every buffer back`, async () => {
    const echo = await serve((c: Connection) => c.data$.subscribe({ next: (b) => void c.write(b), complete: () => void c.end() }))
    const fds = fdCount() // after the first listen: the proactor's own fds exist by now
    let port = 0
    const proxy = listen({ host: '127.0.0.1', port: 0, onListening: (a) => (port = a.port) })
      .pipe(
        mergeMap((client) =>
          from(connect({ port: echo.port })).pipe(
            mergeMap((up) => merge(client.data$.pipe(writeTo(up)), up.data$.pipe(writeTo(client))).pipe(finalize(() => up.close()))),
            finalize(() => client.close()),
          ),
        ),
      )
      .subscribe()
    await until(() => port !== 0, 5000, 'the proxy to listen')
    // Buffers viewed (handed out lent) and not yet released: a copy releases within its delivery,
    // so more than one out at a time means buffers were held across a send — lent.
    const pool = readPool()
    const viewed = new Set<number>()
    let mostOut = 0
    const view = pool.view.bind(pool)
    const release = pool.release.bind(pool)
    pool.view = (bid, len) => (viewed.add(bid), (mostOut = Math.max(mostOut, viewed.size)), view(bid, len))
    pool.release = (bid) => (viewed.delete(bid), release(bid))
    const peers = Array.from({ length: CLIENTS }, () => streamPeer(port, SRC, EACH, { chunk: 256 * 1024, end: true }))
    // Half the clients read in bursts: their direction of the proxy stalls and resumes all along.
    const slow = peers.filter((_, i) => i % 2 === 1).map((p) => p.sock)
    for (const p of peers) p.sock.resume()
    const napper = setInterval(() => {
      for (const s of slow) {
        s.pause()
        setTimeout(() => s.resume(), 3)
      }
    }, 10)
    try {
      await until(() => peers.every((p) => p.got() >= EACH), 60_000, 'every echo back through the proxy')
      for (const p of peers) {
        expect(p.got()).toBe(EACH)
        expect(p.bad()).toBe(-1)
      }
      // Lending happened, and never took more than half the pool (the one being decided on aside)…
      console.log(`[${BACKEND}] at most ${mostOut} of ${pool.count} pool buffers lent at once`)
      expect(mostOut).toBeGreaterThan(1)
      expect(mostOut).toBeLessThanOrEqual(pool.count / 2 + 1)
    } finally {
      clearInterval(napper)
      for (const p of peers) p.sock.destroy()
      proxy.unsubscribe()
      echo.stop()
    }
    // …and every one came back once the connections were gone.
    await until(() => pool.available === pool.count, 5000, 'every lent buffer back in the pool')
    await until(() => fdCount() <= fds, 5000, 'every fd closed')
  }, 150_000)
})
