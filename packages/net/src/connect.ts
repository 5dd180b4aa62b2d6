/**
 * `connect()`: an outgoing TCP or Unix stream connection (IORING_OP_CONNECT).
 *
 * @packageDocumentation
 */
import { getProactor, run, sockets } from '@ringio/core/transport'
import { Connection, type ConnectionOptions } from './connection.js'
import { IPPROTO_TCP, SOCK_STREAM, TCP_NODELAY } from './constants.js'
import { connectFirst } from './happy-eyeballs.js'
import { checkFamily, resolveHost, type AddressFamily, type LookupFunction } from './resolve.js'
import { AF_UNIX, encodeInet, encodeUnix, literalHost } from './sockaddr.js'

/** Options of {@link connect}. */
export interface ConnectOptions extends ConnectionOptions {
  /**
   * The peer: an IP address, or a host name resolved with `lookup` (default
   * `'127.0.0.1'`). `'localhost'` is 127.0.0.1 (::1 with `family: 6`) without
   * a lookup.
   */
  host?: string
  /** Peer port. */
  port?: number
  /** A Unix socket path instead of host/port. */
  path?: string
  /**
   * Which addresses of a host name to use, as Node's `family`: 4, 6, or 0
   * (default: both, in the order the resolver returns them). Ignored for an
   * IP address.
   */
  family?: AddressFamily
  /** The resolver for a host name (default `dns.promises.lookup`: /etc/hosts, nsswitch, DNS). */
  lookup?: LookupFunction
  /**
   * Happy Eyeballs (RFC 8305), as Node's: try every address of a host name,
   * families interleaved, the next attempt starting when one fails or after
   * `autoSelectFamilyAttemptTimeout` ms; the first to connect wins, the
   * others are cancelled and closed. Default true; false connects to the
   * first address only.
   */
  autoSelectFamily?: boolean
  /** Ms before the next Happy Eyeballs attempt starts beside a pending one (default 250, at least 10, as Node). */
  autoSelectFamilyAttemptTimeout?: number
  /**
   * Aborting cancels the connect: a pending lookup is abandoned (rejecting at
   * once; getaddrinfo itself runs to its end on the threadpool and its answer
   * is dropped), every pending connection attempt is cancelled in the kernel
   * and its fd closed; the Promise rejects with the signal's reason.
   */
  signal?: AbortSignal
  /** Give up after this many ms, lookup included (cancelled as by `signal`; rejects with a `TimeoutError`). */
  timeout?: number
  /** Disable Nagle (TCP). Default true. */
  noDelay?: boolean
}


/**
 * Connects to `host:port` (or `path`). An IP address (or `'localhost'`) is
 * connected to at once; a host name is first resolved through `lookup`
 * (Node's `dns.lookup`), then its addresses are tried as `family` and
 * `autoSelectFamily` say.
 *
 * ## Example
 * ```ts
 * const conn = await connect({ host: 'db.internal', port: 7000, timeout: 2000 })
 * await conn.write('hello')
 * ```
 * @returns rejects with `IoError`: `ECONNREFUSED`, `ENETUNREACH`, … (op
 * `'connect'`; when several addresses were tried, the first failure's code,
 * the message naming them all); `ENOTFOUND`, `EAI_AGAIN`, … (op `'getaddrinfo'`,
 * the host name as handle) for a name that does not resolve; or the abort
 * reason (see `signal`). TypeError/RangeError for bad options.
 */
export async function connect(opts: ConnectOptions): Promise<Connection> {
  if (typeof opts !== 'object' || opts === null) throw new TypeError('connect: options object required')
  let signal = opts.signal
  if (opts.timeout !== undefined) {
    if (!Number.isFinite(opts.timeout) || opts.timeout < 0) throw new RangeError(`timeout must be >= 0 ms, got ${String(opts.timeout)}`)
    const t = AbortSignal.timeout(opts.timeout)
    signal = signal === undefined ? t : AbortSignal.any([signal, t])
  }
  if (opts.path !== undefined) return new Connection(await connectOne(encodeUnix(opts.path), opts.path, signal, false), opts)
  const host = opts.host ?? '127.0.0.1'
  const port = opts.port ?? -1
  const family = checkFamily(opts.family)
  const noDelay = opts.noDelay !== false
  const literal = literalHost(host, family)
  // The fast path: an IP literal costs no lookup.
  if (literal !== null) return new Connection(await connectOne(encodeInet(literal, port), `${host}:${port}`, signal, noDelay), opts)
  encodeInet('0.0.0.0', port) // a bad port throws now, before the lookup
  const delay = opts.autoSelectFamilyAttemptTimeout ?? 250
  if (!Number.isFinite(delay) || delay < 10) throw new RangeError(`autoSelectFamilyAttemptTimeout must be >= 10 ms, got ${String(delay)}`)
  const found = await resolveHost(host, { family, signal, lookup: opts.lookup })
  const fd = await connectFirst(opts.autoSelectFamily === false ? found.slice(0, 1) : found, port, { attemptDelay: delay, signal, handle: `${host}:${port}` })
  try {
    if (noDelay) sockets.setIntOption(fd, IPPROTO_TCP, TCP_NODELAY, 1)
  } catch (err) {
    sockets.closeSync(fd)
    throw err
  }
  return new Connection(fd, opts)
}

/** One connect to `addr` on a new socket; resolves with the connected fd (the caller owns it). */
async function connectOne(addr: Buffer, handle: string, signal: AbortSignal | undefined, noDelay: boolean): Promise<number> {
  const family = addr.readUInt16LE(0)
  const fd = getProactor().socket(family, SOCK_STREAM, 0)
  try {
    await run({ kind: 'connect', fd, addr }, { signal }, { handle })
    if (family !== AF_UNIX && noDelay) sockets.setIntOption(fd, IPPROTO_TCP, TCP_NODELAY, 1)
  } catch (err) {
    sockets.closeSync(fd)
    throw err
  }
  return fd
}
