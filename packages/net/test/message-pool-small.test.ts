/**
 * A message pool of 2 buffers: bursts of datagrams and SOCK_SEQPACKET
 * records queued in the socket find the pool dry (-ENOBUFS ends the
 * multishot receive), and the receivers re-arm once a buffer comes back —
 * nothing lost, nothing reordered, across unsubscribe/resubscribe too. This
 * file runs in its own fork (vitest pool 'forks'), so the tiny pool does not
 * leak into the other tests.
 */
import { getProactor, type Completion } from '@ringio/core/transport'
import { configureMessagePool } from '@ringio/net'

// Before anything receives: the shared message pool is created on first use.
configureMessagePool({ count: 2 })

import { describe, expect, it } from 'vitest'
import { firstValueFrom, take, toArray } from 'rxjs'
import { seqpacket, udp, type Datagram } from '@ringio/net'
import { messagePool } from '../src/read-pool.js'
import { until } from './helpers.js'

const BACKEND = process.env['RINGIO_BACKEND']
const N = 300

const ENOBUFS = 105

/**
 * Counts the receives the dry pool ended (-ENOBUFS): that path must actually
 * run for these tests to mean anything. The poll backend first waits for the
 * deliveries pending to give buffers back (`dryGroup`), so there a dry pool
 * shows as the group's `dryTakes`, and ENOBUFS only when nothing is pending.
 */
function countStarved(): { readonly n: number } {
  const p = getProactor()
  const counter = { n: 0 }
  const start = p.start.bind(p)
  p.start = (op, c, opts) =>
    op.kind !== 'recvmsgMultishot'
      ? start(op, c, opts)
      : start(op, { complete: (res, fl) => { if (res === -ENOBUFS) counter.n++; c.complete(res, fl) } } satisfies Completion, opts)
  return counter
}

describe(`a message pool of 2 buffers (${BACKEND})`, () => {
  it(`UDP: ${N} queued datagrams arrive in order through ENOBUFS re-arms, across a resubscribe`, async () => {
    const pool = messagePool()
    const starved = countStarved()
    const rx = udp({ host: '127.0.0.1', recvBufferSize: 4 << 20 })
    const tx = udp({ host: '127.0.0.1' })
    const to = { address: '127.0.0.1', port: rx.localAddress.port }
    // Queue them all in the socket first: the receive then meets a burst.
    await Promise.all(Array.from({ length: N }, (_, i) => tx.send(i % 37 === 0 ? '' : `d${i}`, to)))
    const first = await firstValueFrom(rx.messages$.pipe(take(100), toArray()))
    const rest: Datagram[] = []
    rx.messages$.subscribe((d) => rest.push(d))
    await until(() => rest.length === N - 100, 10_000, 'every datagram')
    expect([...first, ...rest].map((d) => d.data.toString())).toEqual(Array.from({ length: N }, (_, i) => (i % 37 === 0 ? '' : `d${i}`)))
    expect(BACKEND === 'poll' ? (pool as unknown as { dryTakes: number }).dryTakes : starved.n).toBeGreaterThan(0)
    expect(pool.available).toBe(2)
    rx.close()
    tx.close()
    await Promise.all([rx.closed, tx.closed])
  })

  it(`SEQPACKET: ${N} queued records (empty ones included) arrive in order through ENOBUFS re-arms, then EOF`, async () => {
    const pool = messagePool()
    const starved = countStarved()
    const path = `\0ringio-msgpool-${process.pid}-${BACKEND}`
    let server: import('@ringio/net').SeqpacketChannel | null = null
    const sub = seqpacket.listen({ path }).subscribe((ch) => (server = ch))
    const ch = await seqpacket.connect({ path })
    await until(() => server !== null, 5000, 'the accepted channel')
    const want = Array.from({ length: N }, (_, i) => (i % 29 === 0 ? '' : `r${i}`))
    // Not awaited: the socket's send buffer holds fewer records than this until the peer reads.
    let accepted = 0
    const sent = Promise.all(want.map((m) => ch.send(m).then(() => void accepted++)))
    ch.close() // the peer sees EOF after the last record
    await until(() => accepted >= 100, 5000, 'a burst of records in the socket')
    const first = await firstValueFrom(server!.messages$.pipe(take(50), toArray()))
    const rest = await firstValueFrom(server!.messages$.pipe(toArray()))
    await sent
    expect([...first, ...rest].map(String)).toEqual(want)
    expect(BACKEND === 'poll' ? (pool as unknown as { dryTakes: number }).dryTakes : starved.n).toBeGreaterThan(0)
    expect(pool.available).toBe(2)
    server!.close()
    sub.unsubscribe()
    await ch.closed
  })
})
