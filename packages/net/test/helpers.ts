import { firstValueFrom, type Observable } from 'rxjs'
import { readdirSync } from 'node:fs'
import { connect, listen, type Connection, type ListenOptions } from '@ringio/net'
import { getProactor, sockets } from '@ringio/core'

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

// ---- Additions for the TCP spec tests (issue 4, section 3) ----

/** Sleeps `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** Resolves when `pred` holds (checked every 2 ms); rejects after `ms` with `what` in the message. */
export async function until(pred: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(2)
  }
}

/** A small deterministic PRNG (mulberry32): failures reproduce from the seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

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
    getProactor().recv(fd, buf, MSG_PEEK | MSG_DONTWAIT, { complete: (res) => resolve(res === -11 ? 0 : res) }),
  )
}

/** `p`, or a rejection naming `what` after `ms`: a hang becomes a failure that says where. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const t = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)))
  return Promise.race([p, t]).finally(() => clearTimeout(timer))
}
