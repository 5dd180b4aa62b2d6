// One form across @ringio/net: address getters, destroy() as the abrupt close
// on every kind, writableLength as the backpressure count (old names kept as
// deprecated aliases).
import { describe, expect, it } from 'vitest'
import { firstValueFrom, toArray } from 'rxjs'
import { IoError } from '@ringio/core/transport'
import { connect, lengthPrefixed, listen, seqpacket, udp, type Connection } from '@ringio/net'

let n = 0
const abstract = (): string => `\0ringio-api-forms-${process.pid}-${process.env['RINGIO_BACKEND']}-${n++}`

/** A TCP listener on 127.0.0.1 and one connected pair. */
async function tcpPair(): Promise<{ client: Connection; server: Connection; stop: () => void }> {
  let port = 0
  let resolveServer!: (c: Connection) => void
  const accepted = new Promise<Connection>((r) => (resolveServer = r))
  const sub = listen({ host: '127.0.0.1', port: 0, onListening: (a) => (port = a.port) }).subscribe(resolveServer)
  const client = await connect({ host: '127.0.0.1', port })
  return { client, server: await accepted, stop: () => sub.unsubscribe() }
}

describe(`API forms (${process.env['RINGIO_BACKEND']})`, () => {
  it('UdpChannel: localAddress/remoteAddress getters, address() alias, writableLength = pendingSends', async () => {
    const srv = udp({ host: '127.0.0.1' })
    const cli = udp({ host: '127.0.0.1' })
    expect(srv.localAddress).toMatchObject({ family: 'IPv4', address: '127.0.0.1' })
    expect(srv.localAddress.port).toBeGreaterThan(0)
    expect(srv.address()).toEqual(srv.localAddress)
    expect(() => cli.remoteAddress).toThrow(IoError) // ENOTCONN before connect()
    await cli.connect({ address: '127.0.0.1', port: srv.localAddress.port })
    expect(cli.remoteAddress).toEqual(srv.localAddress)
    const sends = Array.from({ length: 5 }, () => cli.send('x'))
    expect(cli.writableLength).toBe(cli.pendingSends)
    expect(cli.writableLength).toBeGreaterThanOrEqual(0)
    await Promise.all(sends)
    expect(cli.writableLength).toBe(0)
    srv.close()
    cli.close()
    await Promise.all([srv.closed, cli.closed])
  })

  it('UdpChannel.destroy(): messages$ completes, the fd closes, later sends reject with EPIPE', async () => {
    const sock = udp({ host: '127.0.0.1' })
    const done = firstValueFrom(sock.messages$.pipe(toArray()))
    sock.destroy()
    expect(await done).toEqual([])
    await sock.closed
    const err = await sock.send('late', { address: '127.0.0.1', port: 9 }).catch((e: unknown) => e)
    expect(IoError.is(err) && err.code).toBe('EPIPE')
    sock.destroy() // idempotent
    sock.close()
  })

  it('SeqpacketChannel: localAddress and remoteAddress getters, writableLength, destroy()', async () => {
    const path = abstract()
    const server = new Promise<import('@ringio/net').SeqpacketChannel>((resolve) => {
      const sub = seqpacket.listen({ path }).subscribe((ch) => {
        sub.unsubscribe()
        resolve(ch)
      })
    })
    const cli = await seqpacket.connect({ path })
    const srv = await server
    expect(srv.localAddress).toEqual({ family: 'unix', address: path, port: 0 })
    expect(cli.remoteAddress).toEqual({ family: 'unix', address: path, port: 0 })
    await cli.send('one')
    expect(cli.writableLength).toBe(0)
    const eof = firstValueFrom(srv.messages$.pipe(toArray()))
    cli.destroy()
    expect((await eof).map(String)).toEqual(['one'])
    await cli.closed
    srv.close()
    await srv.closed
  })

  it('Connection.destroy() is the abrupt close; FramedChannel has the address getters and destroy()', async () => {
    const { client, server, stop } = await tcpPair()
    stop()
    const framedClient = lengthPrefixed(client)
    expect(framedClient.localAddress).toEqual(client.localAddress)
    expect(framedClient.remoteAddress).toEqual(server.localAddress)
    const msgs = firstValueFrom(framedClient.messages$.pipe(toArray()))
    framedClient.destroy()
    expect(await msgs).toEqual([])
    await client.closed
    const err = await framedClient.send(Buffer.from('late')).catch((e: unknown) => e)
    expect(IoError.is(err) && err.code).toBe('EPIPE')
    // The peer saw the connection go: its data$ completes (or errors with a reset).
    await firstValueFrom(server.data$.pipe(toArray())).catch(() => [])
    server.destroy()
    await server.closed
    server.destroy() // idempotent
  })
})
