/**
 * `listen()`: a TCP (or Unix stream) listener as an Observable of connections.
 *
 * @packageDocumentation
 */
import { Observable } from 'rxjs'
import { ECANCELED, getProactor, IoError, sockets, type Completion } from '@ringio/core'
import { Connection, type ConnectionOptions } from './connection.js'
import { AF_INET, AF_INET6, AF_UNIX, decodeSockaddr, encodeInet, encodeUnix, type SocketAddress } from './sockaddr.js'

/** Options of {@link listen}. */
export interface ListenOptions extends ConnectionOptions {
  /** IP address to bind (default `'0.0.0.0'`; `'::'` for IPv6). Ignored with `path`. */
  host?: string
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
  /** Aborting closes the listener and completes the Observable. */
  signal?: AbortSignal
  /** Called once bound and listening, with the bound address (the real port when `port` was 0). */
  onListening?: (address: SocketAddress) => void
}

const SOCK_STREAM = 1
const SOL_SOCKET = 1
const SO_REUSEADDR = 2
const SO_REUSEPORT = 15
const IPPROTO_TCP = 6
const TCP_NODELAY = 1
// accept errors that concern one connection, not the listener (accept(2) "Error handling").
const TRANSIENT = new Set([103 /* ECONNABORTED */, 4 /* EINTR */, 71 /* EPROTO */, 1 /* EPERM */, 110 /* ETIMEDOUT */, 104 /* ECONNRESET */])

/**
 * A listening socket, bound on subscribe, whose accepted connections are
 * emitted as they come (multishot ACCEPT: one SQE accepts them all).
 *
 * ## Example
 * ```ts
 * listen({ port: 7000, onListening: (a) => console.log(`on ${a.port}`) })
 *   .subscribe((conn) => conn.data$.subscribe({ next: (b) => conn.write(b), complete: () => conn.end() }))
 * ```
 * Errors: `IoError` `EADDRINUSE`, `EACCES`, `EADDRNOTAVAIL` when binding; `EMFILE`/`ENFILE` when out of fds.
 *
 * # Cancel safety
 * Unsubscribing (or aborting `signal`) cancels the accept in the kernel and
 * closes the listener; connections already emitted stay open — they are yours.
 */
export function listen(opts: ListenOptions): Observable<Connection> {
  const { address, family } = target(opts)
  const backlog = opts.backlog ?? 511
  if (!Number.isInteger(backlog) || backlog < 1) throw new RangeError(`backlog must be a positive integer, got ${String(backlog)}`)
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
    let accepting = -1
    let open = true
    const shut = (): void => {
      if (!open) return
      open = false
      opts.signal?.removeEventListener('abort', onAbort)
      if (accepting !== -1) p.cancel(accepting)
      if (p.closed) sockets.closeSync(fd)
      else p.close(fd, { complete: () => {} })
    }
    const onAbort = (): void => {
      shut()
      subscriber.complete()
    }
    try {
      if (family !== AF_UNIX) sockets.setIntOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
      if (opts.reusePort === true) sockets.setIntOption(fd, SOL_SOCKET, SO_REUSEPORT, 1)
      sockets.bind(fd, address)
      sockets.listen(fd, backlog)
    } catch (err) {
      shut()
      subscriber.error(err)
      return
    }
    const noDelay = family !== AF_UNIX && opts.noDelay !== false
    const c: Completion = {
      complete(res, flags) {
        if (res >= 0) {
          if (!open) { sockets.closeSync(res); return }
          if (noDelay) sockets.setIntOption(res, IPPROTO_TCP, TCP_NODELAY, 1)
          subscriber.next(new Connection(res, opts))
          if ((flags & 2) === 0 && open) accepting = p.accept(fd, true, c) // the kernel ended the multishot: re-arm
          return
        }
        accepting = -1
        if (!open || res === -ECANCELED) return
        if (TRANSIENT.has(-res)) { accepting = p.accept(fd, true, c); return }
        shut()
        subscriber.error(new IoError(-res, 'accept', fd))
      },
    }
    accepting = p.accept(fd, true, c)
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    if (opts.onListening !== undefined) {
      try {
        opts.onListening(decodeSockaddr(sockets.sockName(fd)))
      } catch (err) {
        shut()
        subscriber.error(err)
      }
    }
    return shut
  })
}

function target(opts: ListenOptions): { address: Buffer; family: number } {
  if (typeof opts !== 'object' || opts === null) throw new TypeError('listen: options object required')
  if (opts.path !== undefined) return { address: encodeUnix(opts.path), family: AF_UNIX }
  const host = opts.host ?? '0.0.0.0'
  const address = encodeInet(host, opts.port ?? 0)
  return { address, family: address.readUInt16LE(0) === AF_INET ? AF_INET : AF_INET6 }
}
