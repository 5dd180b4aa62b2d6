import { describe, expect, it } from 'vitest'
import { firstValueFrom, take, toArray } from 'rxjs'
import { IoError, MessageTruncatedError } from '@ringio/core/transport'
import { udp, type Datagram, type UdpChannel } from '@ringio/net'
import { fdCount, sleep, until } from './helpers.js'
import { messagePool } from '../src/read-pool.js'

/** Deterministic pseudo-random sizes, 0-byte datagrams included. */
function sizes(n: number, seed = 1): number[] {
  let s = seed
  const next = (): number => (s = (s * 1103515245 + 12345) % 2 ** 31)
  return Array.from({ length: n }, (_, i) => (i % 50 === 0 ? 0 : next() % 97 === 0 ? 8000 + (next() % 50000) : next() % 1500))
}

function payload(i: number, size: number): Buffer {
  const b = Buffer.alloc(size)
  for (let j = 0; j < size; j++) b[j] = (i * 31 + j) & 0xff
  return b
}

function echoServer(): UdpChannel {
  const srv = udp({ host: '127.0.0.1', recvBufferSize: 1 << 20 })
  srv.messages$.subscribe((d) => void srv.send(d))
  return srv
}

describe(`udp (${process.env['RINGIO_BACKEND']})`, () => {
  it('keeps the boundaries of 10 000 datagrams of random sizes, 0 bytes included (windowed, all arrive)', async () => {
    const srv = echoServer()
    const cli = udp({ host: '127.0.0.1', recvBufferSize: 1 << 20 })
    const peer = { address: '127.0.0.1', port: srv.localAddress.port }
    const plan = sizes(10_000)
    const WINDOW = 16
    let sent = 0
    let got = 0
    const done = new Promise<void>((resolve, reject) => {
      cli.messages$.subscribe({
        next: (d) => {
          // Loopback keeps order: reply #got must be datagram #got, byte for byte.
          const want = payload(got, plan[got]!)
          if (!d.data.equals(want)) reject(new Error(`datagram ${got}: got ${d.data.length} bytes, want ${want.length}`))
          expect(d.port).toBe(peer.port)
          got++
          if (got === plan.length) resolve()
          else if (sent < plan.length) void cli.send(payload(sent, plan[sent++]!), peer)
        },
        error: reject,
      })
    })
    while (sent < WINDOW) void cli.send(payload(sent, plan[sent++]!), peer)
    await done
    expect(got).toBe(10_000)
    cli.close()
    srv.close()
    await Promise.all([cli.closed, srv.closed])
  })

  it('reports a datagram longer than maxMessage (MSG_TRUNC) as an error, then goes on', async () => {
    const rx = udp({ host: '127.0.0.1', maxMessage: 100 })
    const tx = udp({ host: '127.0.0.1' })
    const to = { address: '127.0.0.1', port: rx.localAddress.port }
    const err = firstValueFrom(rx.messages$).catch((e: unknown) => e)
    await tx.send(Buffer.alloc(300, 7), to)
    const e = await err
    expect(MessageTruncatedError.is(e)).toBe(true)
    expect((e as MessageTruncatedError).size).toBe(300)
    expect((e as MessageTruncatedError).capacity).toBe(100)
    // The socket stays open: subscribe again for the next datagram.
    const next = firstValueFrom(rx.messages$)
    await tx.send('fits', to)
    expect((await next).data.toString()).toBe('fits')
    rx.close()
    tx.close()
  })

  it("flags a truncated datagram with onTruncate: 'flag'", async () => {
    const rx = udp({ host: '127.0.0.1', maxMessage: 10, onTruncate: 'flag' })
    const tx = udp({ host: '127.0.0.1' })
    const got = firstValueFrom(rx.messages$)
    await tx.send(Buffer.from('0123456789abcdef'), { address: '127.0.0.1', port: rx.localAddress.port })
    const d: Datagram = await got
    expect(d).toMatchObject({ truncated: true, size: 16 })
    expect(d.data.toString()).toBe('0123456789')
    rx.close()
    tx.close()
  })

  it('sends everything accepted before close(), rejects sends after it with EPIPE', async () => {
    const rx = udp({ host: '127.0.0.1', recvBufferSize: 1 << 20 })
    const tx = udp({ host: '127.0.0.1' })
    const to = { address: '127.0.0.1', port: rx.localAddress.port }
    const all = firstValueFrom(rx.messages$.pipe(take(200), toArray()))
    const sends = Array.from({ length: 200 }, (_, i) => tx.send(`m${i}`, to))
    tx.close()
    await expect(tx.send('late', to)).rejects.toMatchObject({ code: 'EPIPE' })
    await Promise.all(sends)
    expect((await all).map((d) => d.data.toString())).toEqual(Array.from({ length: 200 }, (_, i) => `m${i}`))
    await tx.closed
    rx.close()
  })

  it('rejects one oversized datagram (EMSGSIZE) and sends the next', async () => {
    const rx = udp({ host: '127.0.0.1' })
    const tx = udp({ host: '127.0.0.1' })
    const to = { address: '127.0.0.1', port: rx.localAddress.port }
    const got = firstValueFrom(rx.messages$)
    const big = tx.send(Buffer.alloc(70_000), to)
    const small = tx.send('after', to)
    await expect(big).rejects.toSatisfy((e: unknown) => IoError.is(e) && e.code === 'EMSGSIZE')
    await small
    expect((await got).data.toString()).toBe('after')
    rx.close()
    tx.close()
  })

  it('connect(): sends without a peer go to the connected one', async () => {
    const srv = echoServer()
    const cli = udp({ host: '127.0.0.1' })
    await cli.connect({ address: '127.0.0.1', port: srv.localAddress.port })
    expect(cli.remoteAddress.port).toBe(srv.localAddress.port)
    const got = firstValueFrom(cli.messages$)
    await cli.send('hi')
    expect((await got).data.toString()).toBe('hi')
    cli.close()
    srv.close()
  })

  it('a reply to a received datagram goes to its sender; a copy with another port goes to that port', async () => {
    const srv = udp({ host: '127.0.0.1' })
    const a = udp({ host: '127.0.0.1' })
    const b = udp({ host: '127.0.0.1' })
    const got = firstValueFrom(srv.messages$.pipe(take(2), toArray()))
    await a.send('from a', { address: '127.0.0.1', port: srv.localAddress.port })
    await b.send('from b', { address: '127.0.0.1', port: srv.localAddress.port })
    const [da, db] = await got
    expect(da!.port).toBe(a.localAddress.port)
    expect(da).toEqual({ data: Buffer.from('from a'), address: '127.0.0.1', port: a.localAddress.port })
    expect(Object.keys({ ...da })).toEqual(['data', 'address', 'port'])
    const atA = firstValueFrom(a.messages$)
    const atB = firstValueFrom(b.messages$.pipe(take(3), toArray()))
    await srv.send(da!) // as received: back to a
    await srv.send({ ...da!, port: b.localAddress.port, data: Buffer.from('redirected') }) // a copy, redirected to b
    await srv.send(db!, undefined)
    da!.port = b.localAddress.port // the received object itself, changed: its new port wins
    da!.data = Buffer.from('mutated')
    await srv.send(da!)
    expect((await atA).data.toString()).toBe('from a')
    expect((await atB).map((d) => d.data.toString()).sort()).toEqual(['from b', 'mutated', 'redirected'])
    for (const s of [srv, a, b]) s.close()
  })

  it('a udp6 socket replies to an IPv4 sender (dual stack, v4-mapped)', async () => {
    const srv = udp({ type: 'udp6', host: '::' })
    const cli = udp({ host: '127.0.0.1' })
    srv.messages$.subscribe((d) => void srv.send(d))
    const reply = firstValueFrom(cli.messages$)
    await cli.send('over v4', { address: '127.0.0.1', port: srv.localAddress.port })
    const d = await reply
    expect(d.data.toString()).toBe('over v4')
    srv.close()
    cli.close()
  })

  it('works over IPv6 (udp6 on ::1)', async () => {
    const srv = udp({ type: 'udp6', host: '::1' })
    srv.messages$.subscribe((d) => void srv.send(d))
    const cli = udp({ type: 'udp6', host: '::1' })
    const got = firstValueFrom(cli.messages$)
    await cli.send('v6', { address: '::1', port: srv.localAddress.port })
    const d = await got
    expect(d.data.toString()).toBe('v6')
    expect(d.address).toBe('::1')
    cli.close()
    srv.close()
  })

  it('setBroadcast and addMembership/dropMembership reach the kernel', () => {
    const s = udp({ host: '0.0.0.0', reuseAddr: true })
    s.setBroadcast(true)
    s.setMulticastTTL(2)
    s.setMulticastLoopback(true)
    s.addMembership('239.1.2.3')
    s.dropMembership('239.1.2.3')
    s.close()
  })

  it('1000 subscribed but idle sockets hold no receive buffer: the message pool lends one only per datagram', async () => {
    const pool = messagePool()
    const before = pool.available
    const socks = Array.from({ length: 1000 }, () => udp({ host: '127.0.0.1' }))
    const got: Datagram[] = []
    const subs = socks.map((s) => s.messages$.subscribe((d) => got.push(d)))
    await sleep(20) // every receive is armed in the kernel (or the reactor) by now
    expect(pool.available).toBe(before)
    const tx = udp({ host: '127.0.0.1' })
    await tx.send('to the last', { address: '127.0.0.1', port: socks[999]!.localAddress.port })
    await until(() => got.length === 1, 5000, 'the datagram')
    expect(got[0]!.data.toString()).toBe('to the last')
    expect(got[0]!.port).toBe(tx.localAddress.port)
    expect(pool.available).toBe(before) // copied out and given back at once
    subs.forEach((s) => s.unsubscribe())
    socks.forEach((s) => s.close())
    tx.close()
    await Promise.all([...socks.map((s) => s.closed), tx.closed])
  })

  it('leaves no fd behind', async () => {
    const before = fdCount()
    for (let i = 0; i < 200; i++) {
      const s = udp({ host: '127.0.0.1' })
      s.messages$.subscribe().unsubscribe()
      s.close()
      await s.closed
    }
    expect(fdCount()).toBeLessThanOrEqual(before + 1)
  })
})
