import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { lookup as dnsLookup } from 'node:dns/promises'
import { createServer } from 'node:net'
import { hostname } from 'node:os'
import { firstValueFrom, take, toArray } from 'rxjs'
import { connect, listen, udp, type Connection } from '@ringio/net'
import { getProactor, IoError, sockets } from '@ringio/core/transport'
import { openUdp } from '../src/open-udp.js'
import { resolveHost, type LookupFunction } from '../src/resolve.js'
import { interleave } from '../src/happy-eyeballs.js'
import { AF_INET, encodeInet } from '../src/sockaddr.js'
import { collect, fdCount, serve, sleep, until, within } from './helpers.js'

const HOST = hostname()
/** A name that never resolves (RFC 6761 §6.4). */
const INVALID = 'ringio-no-such-host.invalid'

/** Whether this kernel has IPv6 on loopback (a listener on ::1 works). */
async function hasIpv6(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer()
    s.once('error', () => resolve(false))
    s.listen(0, '::1', () => s.close(() => resolve(true)))
  })
}
const IPV6 = await hasIpv6()

/** A resolver that answers `addresses` for any name, recording what it was asked. */
function fixedLookup(addresses: { address: string; family: number }[], asked: { host: string; family: number }[] = []): LookupFunction {
  return (host, opts) => {
    asked.push({ host, family: opts.family })
    return Promise.resolve(addresses)
  }
}

/** A resolver that never answers (a stuck DNS server). */
const stuckLookup: LookupFunction = () => new Promise(() => {})

/** Echoes every connection's bytes back, then ends. */
const echo = (c: Connection): void => void c.data$.subscribe({ next: (b) => void c.write(b), complete: () => void c.end() })

async function exchange(conn: Connection, text: string): Promise<string> {
  const got = collect(conn.data$)
  await conn.write(text)
  await conn.end()
  return (await within(got, 5000, 'the echo')).toString()
}

function expectResolverError(err: unknown, name: string): void {
  expect(IoError.is(err)).toBe(true)
  const e = err as IoError
  // ENOTFOUND from /etc/hosts + DNS; EAI_AGAIN when no DNS server can be reached.
  expect(['ENOTFOUND', 'EAI_AGAIN']).toContain(e.code)
  expect(e.op).toBe('getaddrinfo')
  expect(e.handle).toBe(name)
  expect(e.errno).toBe(0)
  expect(e.message).toContain(name)
}

/**
 * A listening socket on 127.0.0.2:`port` that never accepts, its backlog
 * filled: a connect to it gets no answer (its SYN is dropped), as a
 * black-holed address would.
 */
async function blackHole(port: number): Promise<{ close: () => void }> {
  const fd = getProactor().socket(AF_INET, 1, 0)
  sockets.bind(fd, encodeInet('127.0.0.2', port))
  sockets.listen(fd, 0)
  const fillers: Connection[] = []
  for (let i = 0; i < 8; i++) {
    try {
      fillers.push(await connect({ host: '127.0.0.2', port, timeout: 200 }))
    } catch (err) {
      expect((err as Error).name).toBe('TimeoutError') // the queue is full: connects now hang
      return { close: () => { fillers.forEach((c) => c.close()); sockets.closeSync(fd) } }
    }
  }
  throw new Error('the backlog never filled')
}

describe(`host names (${process.env['RINGIO_BACKEND']})`, () => {
  let hostAddress: string
  beforeAll(async () => {
    // This machine's name resolves through /etc/hosts (nsswitch "files"); the tests rely on it.
    hostAddress = (await dnsLookup(HOST)).address
  })

  it('resolves this host name and localhost as dns.lookup does, IP literals without a lookup', async () => {
    expect((await resolveHost(HOST))[0]!.address).toBe(hostAddress)
    const throwing: LookupFunction = () => { throw new Error('no lookup expected') }
    expect(await resolveHost('127.0.0.1', { lookup: throwing })).toEqual([{ address: '127.0.0.1', family: 4 }])
    expect(await resolveHost('::1', { lookup: throwing })).toEqual([{ address: '::1', family: 6 }])
    expect(await resolveHost('localhost', { lookup: throwing })).toEqual([{ address: '127.0.0.1', family: 4 }])
    expect(await resolveHost('localhost', { family: 6, lookup: throwing })).toEqual([{ address: '::1', family: 6 }])
    // family filters what a resolver gives back, even one that ignores it.
    const both = fixedLookup([{ address: '::1', family: 6 }, { address: '127.0.0.1', family: 4 }])
    expect(await resolveHost('x.test', { family: 4, lookup: both })).toEqual([{ address: '127.0.0.1', family: 4 }])
    await expect(resolveHost('x.test', { family: 4, lookup: fixedLookup([{ address: '::1', family: 6 }]) })).rejects.toMatchObject({ code: 'ENOTFOUND', op: 'getaddrinfo' })
    await expect(resolveHost('x.test', { lookup: fixedLookup([{ address: 'nope', family: 4 }]) })).rejects.toThrow(TypeError)
    let bad: Promise<unknown> | undefined
    expect(() => (bad = resolveHost('x.test', { family: 5 as 4 }))).not.toThrow() // rejects, never throws
    await expect(bad).rejects.toThrow(TypeError)
  })

  it('connects by host name to a ringio listener bound by host name, and by localhost', async () => {
    let bound = ''
    let port = 0
    const sub = listen({ host: HOST, port: 0, onListening: (a) => { bound = a.address; port = a.port } }).subscribe(echo)
    await until(() => port !== 0, 5000, 'the listener bound by name')
    expect(bound).toBe(hostAddress)
    const conn = await connect({ host: HOST, port, timeout: 5000 })
    expect(conn.remoteAddress.address).toBe(hostAddress)
    expect(await exchange(conn, 'by name')).toBe('by name')
    if (hostAddress === '127.0.0.1') {
      const local = await connect({ host: 'localhost', port })
      expect(await exchange(local, 'by localhost')).toBe('by localhost')
    }
    sub.unsubscribe()
  })

  it('sends and receives UDP datagrams by host name (bind, connect), and rejects a name in send()', async () => {
    const srv = await openUdp({ host: HOST, port: 0 }, { signal: AbortSignal.timeout(5000) })
    expect(srv.localAddress.address).toBe(hostAddress)
    srv.messages$.subscribe((d) => void srv.send(Buffer.concat([Buffer.from('re: '), d.data]), d))
    const cli = udp()
    const replies = firstValueFrom(cli.messages$.pipe(take(2), toArray()))
    await cli.connect({ address: HOST, port: srv.localAddress.port })
    expect(cli.remoteAddress).toMatchObject({ address: hostAddress, port: srv.localAddress.port })
    await cli.send('one')
    await cli.send('two', { address: 'localhost', port: srv.localAddress.port })
    const got = await within(replies, 5000, 'the UDP replies')
    expect(got.map((d) => d.data.toString())).toEqual(['re: one', 're: two'])
    const err = await cli.send('x', { address: HOST, port: srv.localAddress.port }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TypeError)
    expect((err as Error).message).toMatch(/host name.*resolve it once/)
    expect(() => udp({ host: HOST })).toThrow(/openUdp/)
    cli.close()
    srv.close()
    await Promise.all([cli.closed, srv.closed])
  })

  it.skipIf(!IPV6)("listen({ host: '::' }) is dual-stack: accepts 127.0.0.1 and ::1 clients", async () => {
    const accepted: Connection[] = []
    let port = 0
    const sub = listen({ host: '::', port: 0, onListening: (a) => (port = a.port) }).subscribe((c) => { accepted.push(c); echo(c) })
    expect(port).not.toBe(0)
    const v4 = await connect({ host: '127.0.0.1', port })
    const v6 = await connect({ host: '::1', port })
    expect(v4.remoteAddress.family).toBe('IPv4')
    expect(v6.remoteAddress.family).toBe('IPv6')
    await until(() => accepted.length === 2, 5000, 'both accepts')
    const peers = accepted.map((c) => c.remoteAddress)
    expect(peers.every((a) => a.family === 'IPv6')).toBe(true) // one AF_INET6 listener
    expect(peers.map((a) => a.address).sort()).toEqual(['::1', '::ffff:127.0.0.1'])
    expect(await exchange(v4, 'four')).toBe('four')
    expect(await exchange(v6, 'six')).toBe('six')
    sub.unsubscribe()
    // ipv6Only keeps IPv4 clients out.
    let only = 0
    const sub6 = listen({ host: '::', port: 0, ipv6Only: true, onListening: (a) => (only = a.port) }).subscribe(echo)
    await expect(connect({ host: '127.0.0.1', port: only })).rejects.toMatchObject({ code: 'ECONNREFUSED' })
    sub6.unsubscribe()
  })

  it.skipIf(!IPV6)('honours family: localhost with family 6 is ::1', async () => {
    let port = 0
    const sub = listen({ host: '::1', port: 0, onListening: (a) => (port = a.port) }).subscribe(echo)
    const conn = await connect({ host: 'localhost', family: 6, port })
    expect(conn.remoteAddress).toMatchObject({ family: 'IPv6', address: '::1' })
    expect(await exchange(conn, 'v6')).toBe('v6')
    sub.unsubscribe()
  })

  it('rejects a name under .invalid with IoError ENOTFOUND (op getaddrinfo), without hanging', async () => {
    const before = fdCount()
    expectResolverError(await within(connect({ host: INVALID, port: 9 }).catch((e: unknown) => e), 10_000, 'connect'), INVALID)
    expectResolverError(await within(openUdp({ host: INVALID }).catch((e: unknown) => e), 10_000, 'openUdp'), INVALID)
    const sock = udp()
    expectResolverError(await within(sock.connect({ address: INVALID, port: 9 }).catch((e: unknown) => e), 10_000, 'udp connect'), INVALID)
    sock.close()
    await sock.closed
    const listenErr = await within(firstValueFrom(listen({ host: INVALID, port: 0 })).catch((e: unknown) => e), 10_000, 'listen')
    expectResolverError(listenErr, INVALID)
    expect(fdCount()).toBe(before)
  })

  it('rejects at once with the abort reason when aborted during the lookup; nothing leaks', async () => {
    const before = fdCount()
    const ac = new AbortController()
    const started = Date.now()
    const pending = connect({ host: 'stuck.test', port: 9, lookup: stuckLookup, signal: ac.signal })
    setTimeout(() => ac.abort(new Error('changed my mind')), 20)
    await expect(within(pending, 2000, 'connect')).rejects.toThrow('changed my mind')
    expect(Date.now() - started).toBeLessThan(1000)
    await expect(within(connect({ host: 'stuck.test', port: 9, lookup: stuckLookup, timeout: 50 }), 2000, 'connect')).rejects.toMatchObject({ name: 'TimeoutError' })
    // The real resolver, aborted before it answers.
    await expect(connect({ host: HOST, port: 9, signal: AbortSignal.abort(new Error('early')) })).rejects.toThrow('early')
    const sock = udp({ lookup: stuckLookup })
    await expect(within(sock.connect({ address: 'stuck.test', port: 9 }, { signal: AbortSignal.timeout(30) }), 2000, 'udp connect')).rejects.toMatchObject({ name: 'TimeoutError' })
    sock.close()
    await sock.closed
    await expect(within(openUdp({ host: 'stuck.test', lookup: stuckLookup }, { signal: AbortSignal.timeout(30) }), 2000, 'openUdp')).rejects.toMatchObject({ name: 'TimeoutError' })
    // listen: aborting while its name resolves completes the Observable.
    const done = within(firstValueFrom(listen({ host: HOST, port: 0, signal: AbortSignal.abort() }), { defaultValue: 'completed' }), 2000, 'listen')
    expect(await done).toBe('completed')
    expect(fdCount()).toBe(before)
  })

  describe('Happy Eyeballs', () => {
    let port = 0
    let stop: () => void = () => {}
    beforeAll(async () => {
      const srv = await serve(echo) // on 127.0.0.1 only: 127.0.0.2 on the same port refuses, or hangs once the hole is dug
      port = srv.port
      stop = srv.stop
    })
    afterAll(() => stop())

    it('interleaves families, starting with the first one returned', () => {
      const a = (address: string, family: 4 | 6) => ({ address, family })
      expect(interleave([a('::1', 6), a('::2', 6), a('1.1.1.1', 4), a('2.2.2.2', 4), a('3.3.3.3', 4)]).map((x) => x.address)).toEqual(['::1', '1.1.1.1', '::2', '2.2.2.2', '3.3.3.3'])
      expect(interleave([a('1.1.1.1', 4), a('::1', 6)]).map((x) => x.address)).toEqual(['1.1.1.1', '::1'])
    })

    it('connects to the second address when the first refuses, asking the resolver for every address', async () => {
      const asked: { host: string; family: number }[] = []
      const lookup = fixedLookup([{ address: '127.0.0.2', family: 4 }, { address: '127.0.0.1', family: 4 }], asked)
      const started = Date.now()
      const conn = await connect({ host: 'two.test', port, lookup, timeout: 5000 })
      expect(Date.now() - started).toBeLessThan(240) // a refusal starts the next attempt at once, not after 250 ms
      expect(asked).toEqual([{ host: 'two.test', family: 0 }])
      expect(conn.remoteAddress.address).toBe('127.0.0.1')
      expect(await exchange(conn, 'second')).toBe('second')
      // Without autoSelectFamily only the first address is tried.
      await expect(connect({ host: 'two.test', port, lookup, autoSelectFamily: false })).rejects.toMatchObject({ code: 'ECONNREFUSED', op: 'connect' })
    })

    it('reports every refused attempt in one IoError', async () => {
      const before = fdCount()
      const lookup = fixedLookup([{ address: '127.0.0.2', family: 4 }, { address: '127.0.0.3', family: 4 }])
      const err = (await connect({ host: 'none.test', port, lookup }).catch((e: unknown) => e)) as IoError
      expect(IoError.is(err)).toBe(true)
      expect(err).toMatchObject({ code: 'ECONNREFUSED', op: 'connect', handle: `none.test:${port}` })
      expect(err.message).toContain('127.0.0.2')
      expect(err.message).toContain('127.0.0.3')
      expect(err.cause).toBeInstanceOf(AggregateError)
      expect(fdCount()).toBe(before)
    })

    describe('when the first address does not answer', () => {
    let hole: { close: () => void } = { close: () => {} }
    beforeAll(async () => {
      hole = await blackHole(port)
    })
    afterAll(() => hole.close())

    it('starts the next attempt after the attempt delay when the first hangs, and closes the loser', async () => {
      const before = fdCount()
      const lookup = fixedLookup([{ address: '127.0.0.2', family: 4 }, { address: '127.0.0.1', family: 4 }])
      const started = Date.now()
      const conn = await connect({ host: 'slow.test', port, lookup, autoSelectFamilyAttemptTimeout: 100, timeout: 5000 })
      const took = Date.now() - started
      expect(took).toBeGreaterThanOrEqual(95)
      expect(took).toBeLessThan(2000)
      expect(conn.remoteAddress.address).toBe('127.0.0.1')
      expect(await exchange(conn, 'winner')).toBe('winner')
      await conn.closed
      await until(() => fdCount() === before, 2000, 'the losing attempt closed') // cancelled in the kernel, then closed
    })

    it('aborting during the attempts cancels them all and closes every fd before rejecting', async () => {
      const before = fdCount()
      const lookup = fixedLookup([{ address: '127.0.0.2', family: 4 }, { address: '127.0.0.2', family: 4 }, { address: '127.0.0.2', family: 4 }])
      const ac = new AbortController()
      const pending = connect({ host: 'hole.test', port, lookup, autoSelectFamilyAttemptTimeout: 10, signal: ac.signal })
      await sleep(100) // every attempt started, none answered
      expect(fdCount()).toBe(before + 3)
      ac.abort(new Error('stop'))
      await expect(within(pending, 2000, 'the abort')).rejects.toThrow('stop')
      expect(fdCount()).toBe(before)
      // The same through `timeout`.
      await expect(within(connect({ host: 'hole.test', port, lookup, autoSelectFamilyAttemptTimeout: 10, timeout: 80 }), 2000, 'the timeout')).rejects.toMatchObject({ name: 'TimeoutError' })
      expect(fdCount()).toBe(before)
    })
    })
  })
})
