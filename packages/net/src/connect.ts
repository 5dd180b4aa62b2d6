/**
 * `connect()`: an outgoing TCP or Unix stream connection (IORING_OP_CONNECT).
 *
 * @packageDocumentation
 */
import { getProactor, run, sockets } from '@ringio/core'
import { Connection, type ConnectionOptions } from './connection.js'
import { AF_UNIX, encodeInet, encodeUnix } from './sockaddr.js'

/** Options of {@link connect}. */
export interface ConnectOptions extends ConnectionOptions {
  /** Peer IP address (default `'127.0.0.1'`). */
  host?: string
  /** Peer port. */
  port?: number
  /** A Unix socket path instead of host/port. */
  path?: string
  /** Aborting cancels the connect in the kernel; the Promise rejects with the signal's reason. */
  signal?: AbortSignal
  /** Give up after this many ms (the connect is cancelled; rejects with a `TimeoutError`). */
  timeout?: number
  /** Disable Nagle (TCP). Default true. */
  noDelay?: boolean
}

const SOCK_STREAM = 1
const IPPROTO_TCP = 6
const TCP_NODELAY = 1

/**
 * Connects to `host:port` (or `path`).
 *
 * ## Example
 * ```ts
 * const conn = await connect({ port: 7000, timeout: 2000 })
 * await conn.write('hello')
 * ```
 * @returns rejects with `IoError` (`ECONNREFUSED`, `ENETUNREACH`, …), or the abort reason
 */
export async function connect(opts: ConnectOptions): Promise<Connection> {
  if (typeof opts !== 'object' || opts === null) throw new TypeError('connect: options object required')
  const addr = opts.path !== undefined ? encodeUnix(opts.path) : encodeInet(opts.host ?? '127.0.0.1', opts.port ?? -1)
  const family = addr.readUInt16LE(0)
  let signal = opts.signal
  if (opts.timeout !== undefined) {
    if (!Number.isFinite(opts.timeout) || opts.timeout < 0) throw new RangeError(`timeout must be >= 0 ms, got ${String(opts.timeout)}`)
    const t = AbortSignal.timeout(opts.timeout)
    signal = signal === undefined ? t : AbortSignal.any([signal, t])
  }
  const fd = getProactor().socket(family, SOCK_STREAM, 0)
  try {
    await run('connect', opts.path ?? `${opts.host ?? '127.0.0.1'}:${opts.port}`, { signal }, (p, c) => p.connect(fd, addr, c))
    if (family !== AF_UNIX && opts.noDelay !== false) sockets.setIntOption(fd, IPPROTO_TCP, TCP_NODELAY, 1)
  } catch (err) {
    sockets.closeSync(fd)
    throw err
  }
  return new Connection(fd, opts)
}
