import { firstValueFrom, type Observable } from 'rxjs'
import { readdirSync } from 'node:fs'
import { connect as nodeConnect, createServer, type Socket } from 'node:net'
import { connect, listen, type Connection, type ListenOptions } from '@ringio/net'
import { getProactor, sockets } from '@ringio/core/transport'
import { rng } from '../../../test/helpers/prng.js'
import { sleep, until, within } from '../../../test/helpers/waiting.js'

/** Starts a listener on 127.0.0.1:0 and resolves with its port and the subscription. */
export async function serve(onConn: (c: Connection) => void, opts: Partial<ListenOptions> = {}) {
  let port = 0
  const sub = listen({ host: '127.0.0.1', port: 0, ...opts, onListening: (a) => (port = a.port) }).subscribe({ next: onConn })
  if (port === 0) throw new Error('not listening')
  return { port, stop: () => sub.unsubscribe() }
}

/** Collects every chunk of a byte stream until it completes. */
export async function collect(data$: Observable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = []
  await new Promise<void>((resolve, reject) => data$.subscribe({ next: (b) => chunks.push(b), complete: resolve, error: reject }))
  return Buffer.concat(chunks)
}

/** Number of open fds of this process. */
export function fdCount(): number {
  return readdirSync('/proc/self/fd').length
}

export { firstValueFrom }
// Shared with the other packages' tests.
export { rng, sleep, until, within }

// ---- Additions for the TCP spec tests (issue 4, section 3) ----

/** `n` deterministic pseudo-random bytes. */
export function pattern(n: number, seed = 1): Buffer {
  const r = rng(seed)
  const b = Buffer.allocUnsafe((n + 3) & ~3)
  for (let i = 0; i < b.length; i += 4) b.writeUInt32LE((r() * 4294967296) >>> 0, i)
  return b.subarray(0, n)
}

/** A connected pair over 127.0.0.1: `client` from connect(), `server` the accepted Connection. */
export async function pair(opts: Partial<ListenOptions> = {}): Promise<{ client: Connection; server: Connection; stop: () => void }> {
  let server: Connection | undefined
  const srv = await serve((c) => (server = c), opts)
  const client = await connect({ port: srv.port })
  await until(() => server !== undefined, 2000, 'the accept')
  srv.stop()
  return { client, server: server!, stop: () => { client.close(); server!.close() } }
}

export const SOL_SOCKET = 1
export const SO_SNDBUF = 7
export const SO_RCVBUF = 8
export const SO_LINGER = 13
const MSG_PEEK = 0x2
const MSG_DONTWAIT = 0x40

/** Makes `close(fd)` send RST: SO_LINGER { l_onoff = 1, l_linger = 0 }. */
export function setLingerZero(fd: number): void {
  const linger = Buffer.alloc(8)
  linger.writeInt32LE(1, 0)
  linger.writeInt32LE(0, 4)
  sockets.setBytesOption(fd, SOL_SOCKET, SO_LINGER, linger)
}

/**
 * Bytes waiting in the kernel's receive queue of `fd` (at most `max`), seen
 * with recv(MSG_PEEK | MSG_DONTWAIT) through the proactor: nothing is consumed.
 * 0 when nothing is queued (EAGAIN).
 */
export function peekQueued(fd: number, max = 1 << 20): Promise<number> {
  const buf = Buffer.allocUnsafe(max)
  return new Promise((resolve) =>
    getProactor().start({ kind: 'recv', fd, buf, flags: MSG_PEEK | MSG_DONTWAIT }, { complete: (res) => resolve(res === -11 ? 0 : res) }),
  )
}


/** Waits until the kernel stopped taking `conn`'s bytes (writableLength > 0 and unchanged for 50 ms). */
export async function stalled(conn: Connection): Promise<void> {
  let last = -1
  for (let i = 0; i < 200; i++) {
    const now = conn.writableLength
    if (now === last && now > 0) return
    last = now
    await sleep(50)
  }
  throw new Error(`the write queue never stalled (writableLength ${conn.writableLength})`)
}

/**
 * A slow node:net consumer on 127.0.0.1: checks every 4093rd byte against
 * the `src`-periodic stream, naps `napMs` after every `napEvery` bytes, and
 * half-closes back at the stream's end.
 */
export async function slowConsumer(src: Buffer, napEvery: number, napMs: number) {
  let got = 0
  let bad = -1
  let ended!: () => void
  const end = new Promise<void>((r) => (ended = r))
  const server = createServer((s: Socket) => {
    let sinceNap = 0
    s.on('data', (b: Buffer) => {
      for (let i = 0; i < b.length && bad < 0; i += 4093) if (b[i] !== src[(got + i) % src.length]) bad = got + i
      got += b.length
      sinceNap += b.length
      if (sinceNap >= napEvery) {
        sinceNap = 0
        s.pause()
        setTimeout(() => s.resume(), napMs)
      }
    })
    s.on('end', () => (s.end(), ended()))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  return { port, got: () => got, bad: () => bad, ended: end, close: () => server.close() }
}

/**
 * A node:net client that sends `total` bytes of the `src`-periodic stream in
 * `chunk`-byte writes, honouring drain (then `end()` with `end`), and checks
 * every 4093rd byte of what comes back. Paused: it reads nothing until
 * `sock.resume()`.
 */
export function streamPeer(port: number, src: Buffer, total: number, opts: { chunk?: number; end?: boolean } = {}) {
  const size = opts.chunk ?? 64 * 1024
  const sock = nodeConnect({ host: '127.0.0.1', port })
  sock.pause()
  let sent = 0
  const pump = (): void => {
    while (sent < total) {
      const n = Math.min(size, total - sent)
      const off = sent % src.length
      const chunk = off + n <= src.length ? src.subarray(off, off + n) : Buffer.concat([src.subarray(off), src.subarray(0, n - (src.length - off))])
      sent += n
      if (!sock.write(chunk)) return void sock.once('drain', pump)
    }
    if (opts.end === true) sock.end()
  }
  sock.once('connect', pump)
  let got = 0
  let bad = -1
  sock.on('data', (b: Buffer) => {
    for (let i = 0; i < b.length && bad < 0; i += 4093) if (b[i] !== src[(got + i) % src.length]) bad = got + i
    got += b.length
  })
  return { sock, sent: () => sent, got: () => got, bad: () => bad }
}
