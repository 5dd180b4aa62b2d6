/**
 * `serveNode(server, options)`: a Node server that accepts sockets
 * (`http.Server`, `https.Server`, `http2` servers, `tls.Server`, `net.Server`)
 * served on ringio connections instead of its own libuv listener.
 *
 * The server is made to look listening to Node's own code: its `_handle` is
 * a small stand-in whose `close()` stops ringio's listener and whose
 * `getsockname()` gives the bound address. So `server.listening`,
 * `server.address()`, `server.close()` (with http's `closeIdleConnections`),
 * `getConnections()`, `maxConnections` and the `'listening'`/`'close'` events
 * keep Node's meaning, and http's connection tracking (which
 * `headersTimeout`, `requestTimeout` and `closeIdleConnections` rely on)
 * starts on `'listening'` as it does after `server.listen()`.
 *
 * @packageDocumentation
 */
import type { Server as NetServer } from 'node:net'
import type { Subscription } from 'rxjs'
import { listen, type ListenOptions } from './listen.js'
import type { Connection } from './connection.js'
import { NodeSocket } from './node-socket.js'
import type { SocketAddress } from './sockaddr.js'
import { adoptWrappedSocket } from './wrapped-socket-addresses.js'

/** Options of {@link serveNode}: where to listen, as {@link listen} (`onListening` excepted). */
export type ServeNodeOptions = Omit<ListenOptions, 'onListening'>

/** A server being served by {@link serveNode}. */
export interface NodeServing {
  /** The bound address (the real port when `port` was 0). */
  readonly address: SocketAddress
  /**
   * `server.close()`: stops accepting (nothing is accepted after it; the
   * listening fd is closed when the current loop turn submits, a connect
   * racing that is reset, later ones are refused), closes idle http
   * connections; resolves once every connection is closed
   * and its fd released (the server's `'close'` event). Calling it again, or
   * after `server.close()`, waits for the same moment.
   */
  close(): Promise<void>
}

/** The fields of `net.Server` this module reads and writes (Node's own, untyped in @types/node). */
interface ServerInternals {
  _handle: unknown
  _connections: number
  _pipeName?: string
  _emitCloseIfDrained?: () => void
  noDelay?: boolean
  keepAlive?: boolean
  keepAliveInitialDelay?: number
  allowHalfOpen?: boolean
  highWaterMark?: number
  pauseOnConnect?: boolean
}

/**
 * Serves a Node server on ringio: listens with {@link listen} and hands each
 * accepted connection to the server as a {@link NodeSocket}
 * (`server.emit('connection', socket)`), after emitting `'listening'`.
 *
 * ## Example
 * ```ts
 * import { createServer } from 'node:http'
 * import { serveNode } from '@ringio/net'
 *
 * const server = createServer({ keepAliveTimeout: 5000 }, (req, res) => res.end(`hi ${req.socket.remoteAddress}\n`))
 * const serving = await serveNode(server, { host: '127.0.0.1', port: 8080 })
 * console.log(`http://127.0.0.1:${serving.address.port}/`)
 * process.once('SIGINT', () => void serving.close())   // or server.close()
 * ```
 * The same works for `https.createServer(opts)`, `tls.createServer(opts)`
 * and `http2.createServer()`/`createSecureServer(opts)`: TLS and http2 wrap
 * the socket in Node's `JSStreamSocket` (as for any non-`net.Socket`
 * stream); the wrapping socket's `remoteAddress` & co. are wired to the
 * connection's when `'secureConnection'`, `'tlsClientError'` or (http2)
 * `'session'` is emitted, before the server's own listeners run.
 *
 * What the server's options mean here: `noDelay` (unless `options.noDelay`
 * is given), `keepAlive`/`keepAliveInitialDelay`, `allowHalfOpen`,
 * `highWaterMark`, `pauseOnConnect`, `maxConnections` (a connection over the
 * limit is closed and `'drop'` emitted) are honoured; http's `timeout`,
 * `keepAliveTimeout`, `headersTimeout`, `requestTimeout`,
 * `connectionsCheckingInterval` work as after `server.listen()`. `server.ref()` and
 * `unref()` do nothing.
 *
 * ## Errors
 * Rejects with `IoError` when the address cannot be bound (`EADDRINUSE`,
 * `EACCES`, …), and with an `Error` when the server is already listening
 * (on ringio or through `server.listen()`), and with `signal.reason` when
 * `options.signal` is already aborted; then nothing was started. A
 * fatal accept error later is emitted as the server's `'error'` and stops
 * accepting (per-connection and out-of-fd errors are ridden out, see
 * {@link ListenOptions.onAcceptError}).
 *
 * ## Closing
 * `server.close()` (or {@link NodeServing.close}, or aborting
 * `options.signal`) stops accepting at once (the listening fd is closed
 * when the current loop turn submits); connections
 * already accepted stay until they end (http closes the idle ones;
 * `server.closeAllConnections()` destroys the rest). `'close'` is emitted
 * once the last connection's fd is closed.
 */
export function serveNode(server: NetServer, options: ServeNodeOptions): Promise<NodeServing> {
  const srv = server as NetServer & ServerInternals
  if (srv.listening) return Promise.reject(new Error('serveNode: the server is already listening'))
  const { signal, ...listenOpts } = options
  let bound: SocketAddress | undefined
  let sub: Subscription | undefined
  const stop = (): void => {
    sub?.unsubscribe()
    sub = undefined
    server.off('secureConnection', adoptWrappedSocket)
    server.off('tlsClientError', onTlsClientError)
    server.off('session', onSession)
    signal?.removeEventListener('abort', onAbort)
  }
  // What net.Server.close() calls: it then drops `_handle` and emits 'close' once drained.
  // `getsockname` is added for TCP only: without it, address() answers a unix socket's path.
  const handle: Record<string, unknown> = { close: stop, ref: noop, unref: noop }
  const onAbort = (): void => {
    if (srv._handle === handle) server.close()
  }
  if (signal?.aborted === true) return Promise.reject(signal.reason)

  const accept = (conn: Connection): void => {
    if (server.maxConnections > 0 && srv._connections >= server.maxConnections) {
      dropped(server, conn)
      return
    }
    const socket = new NodeSocket(conn, { allowHalfOpen: srv.allowHalfOpen, highWaterMark: srv.highWaterMark, pauseOnCreate: srv.pauseOnConnect })
    if (srv.keepAlive === true) socket.setKeepAlive(true, (srv.keepAliveInitialDelay ?? 0) * 1000)
    srv._connections++
    socket.server = server
    socket._server = srv
    server.emit('connection', socket)
  }
  const onTlsClientError = (_err: unknown, tlsSocket: unknown): void => adoptWrappedSocket(tlsSocket)
  const onSession = (session: { socket?: unknown }): void => adoptWrappedSocket(session.socket)

  // listen() reports a bind failure by erroring synchronously inside subscribe().
  let startError: unknown = null
  try {
    sub = listen({ ...listenOpts, noDelay: options.noDelay ?? srv.noDelay !== false, onListening: (a) => (bound = a) }).subscribe({
      next: accept,
      error: (err: unknown) => {
        if (srv._handle !== handle) {
          startError = err
          return
        }
        stop()
        srv._handle = null
        server.emit('error', err)
        srv._emitCloseIfDrained?.() // the listener is gone: 'close' comes once the connections are too
      },
    })
  } catch (err) {
    startError = err
  }
  if (startError !== null || bound === undefined) {
    sub?.unsubscribe()
    return Promise.reject(startError ?? new Error('serveNode: the listener did not start'))
  }
  const at = bound
  if (at.family !== 'unix') {
    handle['getsockname'] = (out: Record<string, unknown>): number => (Object.assign(out, { address: at.address, family: at.family, port: at.port }), 0)
  }
  srv._handle = handle
  const closed = new Promise<void>((resolve) => {
    const onClose = (): void => {
      if (srv._handle === handle) return // a 'close' emitted by hand while serving
      server.off('close', onClose)
      resolve()
    }
    server.on('close', onClose)
  })

  if (at.family === 'unix') srv._pipeName = at.address
  // Before the server's own listeners (https: 'secureConnection', http2: 'session'), so the socket
  // they see is complete.
  server.prependListener('secureConnection', adoptWrappedSocket)
  server.prependListener('tlsClientError', onTlsClientError)
  server.prependListener('session', onSession)
  signal?.addEventListener('abort', onAbort, { once: true })
  // As net.Server does: 'listening' on the next tick, if still listening then.
  process.nextTick(() => {
    if (srv._handle === handle) server.emit('listening')
  })
  return Promise.resolve({
    address: at,
    close: () => {
      if (srv._handle === handle) server.close()
      return closed
    },
  })
}

/** Over `maxConnections`: closed at once, `'drop'` emitted with its addresses (as net.Server). */
function dropped(server: NetServer, conn: Connection): void {
  let data: Record<string, unknown> | undefined
  try {
    const l = conn.localAddress
    const r = conn.remoteAddress
    if (l.family !== 'unix') {
      data = { localAddress: l.address, localPort: l.port, localFamily: l.family, remoteAddress: r.address, remotePort: r.port, remoteFamily: r.family }
    }
  } catch {
    // the peer is already gone: drop without addresses
  }
  conn.close()
  server.emit('drop', data)
}

function noop(): void {}
