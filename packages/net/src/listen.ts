/**
 * `listen()`: a TCP (or Unix stream) listener as an Observable of connections.
 *
 * @packageDocumentation
 */
import { catchError, defer, EMPTY, Observable, switchMap, throwError, type Subscription } from 'rxjs'
import { getProactor, IoError, sockets } from '@ringio/core/transport'
import { acceptStream } from './accept-stream.js'
import { Connection, type ConnectionOptions } from './connection.js'
import { IPPROTO_IPV6, IPPROTO_TCP, IPV6_V6ONLY, SO_REUSEADDR, SO_REUSEPORT, SOCK_STREAM, SOL_SOCKET, TCP_NODELAY } from './constants.js'
import { resolveHost } from './resolve.js'
import { AF_INET, AF_INET6, AF_UNIX, decodeSockaddr, encodeInet, encodeUnix, literalHost, type SocketAddress } from './sockaddr.js'

/** Options of {@link listen}. */
export interface ListenOptions extends ConnectionOptions {
  /**
   * Address to bind (default `'0.0.0.0'`). Ignored with `path`. `'::'` is
   * dual-stack: it accepts IPv4 clients too (IPV6_V6ONLY is set to 0, as
   * Node does; their `remoteAddress` is `::ffff:a.b.c.d`) unless `ipv6Only`.
   * A host name is resolved on subscribe (Node's `dns.lookup`) and its first
   * address bound; `'localhost'` is 127.0.0.1 without a lookup.
   */
  host?: string
  /** IPV6_V6ONLY on an IPv6 listener: true accepts IPv6 clients only. Default: false on `'::'`, else the system's. */
  ipv6Only?: boolean
  /** TCP port; 0 picks a free one (see `onListening`). */
  port?: number
  /** A Unix socket path (leading `'\0'`: abstract namespace) instead of host/port. */
  path?: string
  /** Listen backlog. Default 511. */
  backlog?: number
  /** SO_REUSEPORT: several listeners (processes) share the port. */
  reusePort?: boolean
  /** Disable Nagle on accepted TCP sockets. Default true. */
  noDelay?: boolean
  /** Aborting closes the listener (or abandons a pending host name lookup) and completes the Observable. */
  signal?: AbortSignal
  /**
   * Called once bound and listening, with the bound address (the real port
   * when `port` was 0) and the listening socket's fd. The fd stays the
   * listener's (do not close it); a supervisor may `shutdown(2)` it.
   */
  onListening?: (address: SocketAddress, fd: number) => void
  /**
   * Called for each accept error the listener survives (it keeps listening):
   * - `EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM` (op `'accept'`): out of fds or
   *   memory. Accepting pauses and is retried after 10 ms, then 20, 40, … up to
   *   1 s between tries, back to 10 ms after an accept succeeds; the waiting
   *   connections stay in the kernel's backlog and are served once fds are
   *   free. The message says how long until the next try.
   * - `ECONNABORTED`, `ECONNRESET`, `EPROTO`, `EPERM`, `ETIMEDOUT`, `EINTR`,
   *   and the network errors Linux passes on from the new socket (`ENETDOWN`,
   *   `ENETUNREACH`, `EHOSTDOWN`, `EHOSTUNREACH`, `ENONET`, `ENOPROTOOPT`,
   *   `EOPNOTSUPP`) (op `'accept'`): that one connection was lost before it
   *   was accepted.
   * - an `IoError` setting up an accepted socket (e.g. op `'setsockopt'`): that
   *   socket is closed and never emitted.
   *
   * Without it these are silent. If it throws, the listener closes and the
   * Observable errors with what it threw.
   */
  onAcceptError?: (err: IoError) => void
}

/**
 * A listening socket, bound on subscribe, whose accepted connections are
 * emitted as they come (multishot ACCEPT: one SQE accepts them all).
 *
 * ## Example
 * ```ts
 * listen({
 *   port: 7000,
 *   onListening: (a) => console.log(`on ${a.port}`),
 *   onAcceptError: (e) => console.warn(e.message), // e.g. EMFILE: retried with backoff
 * }).subscribe((conn) => conn.data$.subscribe({ next: (b) => conn.write(b), complete: () => conn.end() }))
 * ```
 *
 * ## Errors
 * The Observable errors (and the listener is closed) with an `IoError`:
 * - `ENOTFOUND`, `EAI_AGAIN`, … (op `'getaddrinfo'`, the name as handle) when
 *   `host` is a name that does not resolve;
 * - `EADDRINUSE`, `EACCES`, `EADDRNOTAVAIL`, … when binding or listening;
 *   `EMFILE`/`ENFILE` when no fd is left for the listening socket itself;
 * - an accept error that means the listening socket is broken (`EBADF`,
 *   `EINVAL`, `ENOTSOCK`, …).
 * A non-`IoError` thrown while wrapping an accepted socket (a bad
 * `ConnectionOptions` value) errors the Observable with it, the socket closed.
 * Running out of fds or memory while accepting (`EMFILE`, `ENFILE`,
 * `ENOBUFS`, `ENOMEM`) never ends the listener: it pauses accepting and
 * retries with a backoff (10 ms doubling to 1 s) without spinning, serves the
 * connections it can, and reports each such error to `onAcceptError`. So do
 * connections lost before they were accepted and failures setting up an
 * accepted socket (which is then closed).
 *
 * # Cancel safety
 * Unsubscribing (or aborting `signal`) cancels the accept in the kernel (or
 * the pending backoff retry) and closes the listener; connections already
 * emitted stay open — they are yours.
 */
export function listen(opts: ListenOptions): Observable<Connection> {
  const bind = target(opts)
  const backlog = opts.backlog ?? 511
  if (!Number.isInteger(backlog) || backlog < 1) throw new RangeError(`backlog must be a positive integer, got ${String(backlog)}`)
  if (bind.address === undefined) return listenByName(bind.name, opts)
  const { address, family } = bind
  return new Observable<Connection>((subscriber) => {
    const p = getProactor()
    if (opts.signal?.aborted === true) {
      subscriber.complete()
      return
    }
    let fd: number
    try {
      fd = p.socket(family, SOCK_STREAM, 0)
    } catch (err) {
      subscriber.error(err)
      return
    }
    let accepts: Subscription | undefined
    let open = true
    const shut = (): void => {
      if (!open) return
      open = false
      opts.signal?.removeEventListener('abort', onAbort)
      accepts?.unsubscribe()
      if (p.closed) sockets.closeSync(fd)
      else p.start({ kind: 'close', fd }, { complete: () => {} })
    }
    const fail = (err: unknown): void => {
      shut()
      subscriber.error(err)
    }
    const onAbort = (): void => {
      shut()
      subscriber.complete()
    }
    try {
      if (family !== AF_UNIX) sockets.setIntOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
      if (opts.reusePort === true) sockets.setIntOption(fd, SOL_SOCKET, SO_REUSEPORT, 1)
      if (family === AF_INET6) {
        if (opts.ipv6Only !== undefined) sockets.setIntOption(fd, IPPROTO_IPV6, IPV6_V6ONLY, opts.ipv6Only ? 1 : 0)
        else if (isUnspecified6(address)) sockets.setIntOption(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0) // dual-stack whatever net.ipv6.bindv6only says
      }
      sockets.bind(fd, address)
      sockets.listen(fd, backlog)
    } catch (err) {
      fail(err)
      return
    }
    const noDelay = family !== AF_UNIX && opts.noDelay !== false
    const report = (err: IoError): void => {
      if (opts.onAcceptError === undefined) return
      try {
        opts.onAcceptError(err)
      } catch (thrown) {
        fail(thrown)
      }
    }
    const take = (conn: number): void => {
      if (!open) return sockets.closeSync(conn)
      let c: Connection
      try {
        if (noDelay) sockets.setIntOption(conn, IPPROTO_TCP, TCP_NODELAY, 1)
        c = new Connection(conn, opts)
      } catch (err) {
        // Nothing was started on it yet: the listener still owns the fd.
        sockets.closeSync(conn)
        if (IoError.is(err)) report(err)
        else fail(err) // a bug or a bad option, not a condition to ride out
        return
      }
      subscriber.next(c)
    }
    accepts = acceptStream(fd, opts.onAcceptError).subscribe({ next: take, error: fail })
    if (!open) return
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    if (opts.onListening !== undefined) {
      try {
        opts.onListening(decodeSockaddr(sockets.sockName(fd)), fd)
      } catch (err) {
        fail(err)
      }
    }
    return shut
  })
}

/**
 * `listen()` on a host name: resolved on subscribe, then its first address
 * bound. Unsubscribing (or aborting) while the lookup runs drops its answer.
 */
function listenByName(name: string, opts: ListenOptions): Observable<Connection> {
  return defer(() => resolveHost(name, { signal: opts.signal })).pipe(
    catchError((err: unknown) => (opts.signal?.aborted === true ? EMPTY : throwError(() => err))),
    switchMap((found) => listen({ ...opts, host: found[0]!.address })),
  )
}

/** Where to bind: an encoded address now, or a host name to resolve on subscribe. */
type BindTarget = { address: Buffer; family: number } | { address: undefined; name: string }

function target(opts: ListenOptions): BindTarget {
  if (typeof opts !== 'object' || opts === null) throw new TypeError('listen: options object required')
  if (opts.path !== undefined) return { address: encodeUnix(opts.path), family: AF_UNIX }
  const host = opts.host ?? '0.0.0.0'
  const literal = typeof host === 'string' ? literalHost(host) : null
  if (literal === null) {
    if (typeof host !== 'string' || host === '') throw new TypeError(`listen: host must be an IP address or a host name, got ${String(host)}`)
    encodeInet('0.0.0.0', opts.port ?? 0) // a bad port throws now, not on subscribe
    return { address: undefined, name: host }
  }
  const address = encodeInet(literal, opts.port ?? 0)
  return { address, family: address.readUInt16LE(0) === AF_INET ? AF_INET : AF_INET6 }
}

/** True for the IPv6 wildcard `::` (sockaddr_in6: sin6_addr at bytes 8..24). */
function isUnspecified6(address: Buffer): boolean {
  for (let i = 8; i < 24; i++) if (address[i] !== 0) return false
  return true
}
