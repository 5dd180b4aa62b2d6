/**
 * `NodeSocket`: a Node `Duplex` over a ringio {@link Connection} with the
 * surface Node's servers expect of a `net.Socket` (addresses, `setTimeout`,
 * `setNoDelay`, `setKeepAlive`, `destroySoon`, byte counters), so `http`,
 * `https`, `http2` and `tls` servers can run on ringio connections.
 *
 * Reads go straight from the connection's receive (`conn.read({ pace })`):
 * a chunk is pushed into the Readable as it arrives, and when the Readable is
 * full the receive is held until Node asks for more (`_read`). Writes go into
 * the connection's ordered write queue; small writes (copied by ringio, see
 * `WriteQueue`) complete at once while the queue is below its high-water
 * mark, as a `net.Socket`'s do when the kernel takes them immediately.
 *
 * @packageDocumentation
 */
import { Duplex } from 'node:stream'
import type { AddressInfo } from 'node:net'
import type { Subscription } from 'rxjs'
import { DEFAULT_COPY_THRESHOLD, sockets } from '@ringio/core/transport'
import { SO_LINGER, SOL_SOCKET } from './constants.js'
import type { Connection } from './connection.js'
import type { SocketAddress } from './sockaddr.js'
import { SocketWrites } from './socket-writes.js'
import { IdleTimer } from './idle-timer.js'

/** Options of a {@link NodeSocket}. */
export interface NodeSocketOptions {
  /** Keep the writable side open after the peer's FIN (`net.Socket`'s `allowHalfOpen`). Default false. */
  allowHalfOpen?: boolean
  /** The Readable's and Writable's high-water mark in bytes (Node's default when absent). */
  highWaterMark?: number
  /** Start paused: nothing is read until `resume()` (`net.Server`'s `pauseOnConnect`). */
  pauseOnCreate?: boolean
}

/** The part of `net.Server` a socket reports its close to (connection counting, `'close'` after `close()`). */
interface CountingServer {
  _connections: number
  _emitCloseIfDrained?: () => void
}


/**
 * A Node `Duplex` over a ringio connection that stands in for a `net.Socket`:
 * what Node's `http`, `https`, `http2` and `tls` servers use of a socket works.
 *
 * ## Example
 * ```ts
 * import { listen, NodeSocket } from '@ringio/net'
 * import { createServer } from 'node:http'
 * const server = createServer((req, res) => res.end(`hello ${req.socket.remoteAddress}\n`))
 * listen({ port: 8080 }).subscribe((conn) => server.emit('connection', new NodeSocket(conn)))
 * ```
 * ({@link serveNode} does this and more: `'listening'`, `close()`, the http timeouts.)
 *
 * ## What it does like `net.Socket`
 * - `remoteAddress`, `remotePort`, `remoteFamily`, `localAddress`, `localPort`,
 *   `localFamily`, `address()` (`{}`/undefined for a unix socket, as Node);
 * - `setTimeout(ms, cb?)`: idle timer reset by every read and write, `'timeout'`
 *   emitted (nothing is closed: the listener decides), `setTimeout(0)` disables,
 *   `cb` is a one-time `'timeout'` listener; a write still making progress
 *   postpones the timeout, as in Node;
 * - `setNoDelay`, `setKeepAlive` (no-ops on unix sockets), `destroySoon()`,
 *   `resetAndDestroy()` (RST), `bytesRead`, `bytesWritten`, `readyState`,
 *   `connecting` (false), `pending` (false), `ref()`/`unref()` (no-ops).
 *
 * ## Writes
 * A write made inside a ringio delivery (a request parsed from a chunk just
 * received) goes to the connection at once; one made elsewhere (a timer, a
 * promise continuation, Node's `JSStreamSocket` under TLS) is handed over in
 * a shared `setImmediate` with every other socket's, so they share one
 * `io_uring_enter`. Small writes complete at once while the connection's
 * queue is below its high-water mark; larger buffers complete when the
 * kernel took them (so they may be reused after the callback, as in Node).
 *
 * ## Errors
 * A receive or send failure (`ECONNRESET`, `EPIPE`, …) destroys the socket
 * with the `IoError`, which is emitted as `'error'`.
 *
 * ## Closing
 * `end()` half-closes after the queued writes (the peer reads EOF).
 * `destroy()` stops reading at once, lets writes already queued in the
 * connection go out (at most 1 s, and not when the queue is full: as Node
 * drops its own write queue on destroy), then closes the fd; `'close'` is
 * emitted once the fd is closed, so a server's `'close'` means every fd is
 * released. `'close'` carries no `hadError` argument (a Duplex's does not).
 */
export class NodeSocket extends Duplex {
  /** The ringio connection underneath (owned by this socket from now on). */
  readonly connection: Connection
  /** The server that accepted this socket, set by {@link serveNode} (and by Node's http server). */
  server: unknown = null
  /** As `net.Socket`: the server whose connection count this socket is in (set by {@link serveNode}). @internal */
  _server: CountingServer | null = null
  /** As `net.Socket`: the idle timeout last set by `setTimeout` (ms), undefined before. */
  timeout: number | undefined = undefined
  /** Always false: the connection is established. */
  readonly connecting = false

  private readSub: Subscription | null = null
  /** False once the Readable is full: the next `pace` holds the receive until `_read`. */
  private wantMore = true
  private resumeRead: (() => void) | null = null
  private readonly idleTimer = new IdleTimer(
    () => this.emit('timeout'),
    () => this.connection.writableLength,
  )
  private readonly writes: SocketWrites
  private bytesIn = 0
  private peer: Partial<AddressInfo> | null = null
  private local: Partial<AddressInfo> | null = null
  private resetting = false

  /** Wraps `conn`; the socket then owns it (destroying the socket closes it). */
  constructor(conn: Connection, opts: NodeSocketOptions = {}) {
    super({
      allowHalfOpen: opts.allowHalfOpen ?? false,
      readableHighWaterMark: opts.highWaterMark,
      writableHighWaterMark: opts.highWaterMark,
      // Strings reach _write as strings: we encode them ourselves, into buffers nobody else holds.
      decodeStrings: false,
    })
    this.connection = conn
    this.writes = new SocketWrites(conn, () => this.idleTimer.refresh(), () => this.destroyed)
    if (opts.pauseOnCreate === true) this.pause()
  }

  /** The peer's IP address (undefined for a unix socket, or once the peer is gone before it was asked). */
  get remoteAddress(): string | undefined {
    return this.peerInfo().address
  }
  /** The peer's port. */
  get remotePort(): number | undefined {
    return this.peerInfo().port
  }
  /** `'IPv4'` or `'IPv6'`. */
  get remoteFamily(): string | undefined {
    return this.peerInfo().family
  }
  /** The local IP address. */
  get localAddress(): string | undefined {
    return this.localInfo().address
  }
  /** The local port. */
  get localPort(): number | undefined {
    return this.localInfo().port
  }
  /** `'IPv4'` or `'IPv6'`. */
  get localFamily(): string | undefined {
    return this.localInfo().family
  }
  /** `{ address, family, port }` of the local end, as `net.Socket#address()` (`{}` for a unix socket). */
  address(): Partial<AddressInfo> {
    return this.localInfo()
  }
  /** Bytes received. */
  get bytesRead(): number {
    return this.bytesIn
  }
  /** Bytes handed to the connection for sending (sent or queued). */
  get bytesWritten(): number {
    return this.writes.bytes
  }
  /** Always false (the socket is connected). */
  get pending(): boolean {
    return false
  }
  /** `'open'`, `'readOnly'`, `'writeOnly'` or `'closed'`, as `net.Socket`. */
  get readyState(): 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.readable && this.writable) return 'open'
    if (this.readable) return 'readOnly'
    if (this.writable) return 'writeOnly'
    return 'closed'
  }
  /** As `net.Socket#bufferSize`: `writableLength`. */
  get bufferSize(): number {
    return this.writableLength
  }

  /**
   * Sets the idle timeout: after `msecs` without a read or a write, `'timeout'`
   * is emitted (the socket stays open). `0` disables it (and removes
   * `callback` from the `'timeout'` listeners when given).
   * @param callback added as a one-time `'timeout'` listener
   * @throws TypeError / RangeError for a `msecs` that is not a non-negative number, as Node
   */
  setTimeout(msecs: number, callback?: () => void): this {
    if (this.destroyed) return this
    if (callback !== undefined && typeof callback !== 'function') throw new TypeError('The "callback" argument must be of type function')
    this.idleTimer.set(msecs)
    this.timeout = msecs
    if (callback !== undefined) {
      if (msecs === 0) this.removeListener('timeout', callback)
      else this.once('timeout', callback)
    }
    return this
  }

  /** Disables (default) or enables Nagle's algorithm. No-op on a unix socket or a closed one. */
  setNoDelay(noDelay = true): this {
    if (this.isTcp()) this.tryOption(() => this.connection.setNoDelay(noDelay))
    return this
  }

  /** Enables TCP keep-alive probes after `initialDelay` ms idle (rounded to seconds). No-op on a unix socket or a closed one. */
  setKeepAlive(enable = false, initialDelay?: number): this {
    if (this.isTcp()) this.tryOption(() => this.connection.setKeepAlive(enable, initialDelay !== undefined && initialDelay > 0 ? initialDelay : undefined))
    return this
  }

  /** Ends the writable side, then destroys the socket once the writes are finished (`net.Socket#destroySoon`). */
  destroySoon(): void {
    if (this.writable) this.end()
    if (this.writableFinished) this.destroy()
    else this.once('finish', () => this.destroy())
  }

  /** Closes the connection with a TCP RST (SO_LINGER 0), dropping queued writes. */
  resetAndDestroy(): this {
    if (this.isTcp()) {
      this.tryOption(() => {
        const linger = Buffer.alloc(8)
        linger.writeInt32LE(1, 0)
        sockets.setBytesOption(this.connection.fd, SOL_SOCKET, SO_LINGER, linger)
      })
    }
    this.resetting = true
    return this.destroy()
  }

  /** No-op, for `net.Socket` compatibility: ringio's loop reference is the proactor's, not the socket's. */
  ref(): this {
    return this
  }
  /** No-op, for `net.Socket` compatibility. */
  unref(): this {
    return this
  }

  /** @internal Node's http server refreshes a consumed socket's timer through this; here reads and writes do it. */
  _unrefTimer(): void {
    this.idleTimer.refresh()
  }

  /** The Readable's pull (called by Node, not by users): starts the receive, or lets a held one go on. */
  override _read(): void {
    this.wantMore = true
    if (this.readSub === null) {
      this.readSub = this.connection.read({ pace: this.pace }).subscribe({
        next: this.onChunk,
        complete: () => this.push(null),
        error: (err: unknown) => this.destroy(err as Error),
      })
      return
    }
    const resume = this.resumeRead
    if (resume !== null) {
      this.resumeRead = null
      resume()
    }
  }

  private readonly onChunk = (chunk: Buffer): void => {
    this.bytesIn += chunk.length
    this.idleTimer.refresh()
    if (!this.push(chunk)) this.wantMore = false
  }

  /** Called by the receive after each chunk: holds it while the Readable is full, until `_read`. */
  private readonly pace = (): Promise<void> | undefined => {
    if (this.wantMore || this.destroyed) return undefined
    return new Promise<void>((resolve) => (this.resumeRead = resolve))
  }

  /** @internal */
  override _write(chunk: Buffer | string, encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (typeof chunk === 'string') this.writes.send(toBytes(chunk, encoding), true, Buffer.byteLength(chunk, encoding), cb)
    else this.writes.send(chunk, chunk.length <= DEFAULT_COPY_THRESHOLD, chunk.length, cb)
  }

  /** @internal */
  override _writev(chunks: { chunk: Buffer | string; encoding: BufferEncoding }[], cb: (err?: Error | null) => void): void {
    const parts = new Array<Uint8Array | string>(chunks.length)
    let copied = true
    let n = 0
    for (let i = 0; i < chunks.length; i++) {
      const { chunk, encoding } = chunks[i]!
      if (typeof chunk === 'string') {
        parts[i] = toBytes(chunk, encoding)
        n += Buffer.byteLength(chunk, encoding)
      } else {
        parts[i] = chunk
        n += chunk.length
        if (chunk.length > DEFAULT_COPY_THRESHOLD) copied = false
      }
    }
    this.writes.send(parts, copied, n, cb)
  }

  /** @internal `end()`: SHUT_WR after the queued writes. */
  override _final(cb: (err?: Error | null) => void): void {
    this.connection.end().then(() => cb(), cb)
  }

  /** @internal */
  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    this.idleTimer.clear()
    this.readSub?.unsubscribe()
    this.readSub = null
    const resume = this.resumeRead
    this.resumeRead = null
    resume?.()
    this.writes.closeAfterFlush(this.resetting)
    const conn = this.connection
    conn.closed.then(() => {
      const server = this._server
      if (server !== null) {
        this._server = null
        server._connections--
        server._emitCloseIfDrained?.()
      }
      cb(err)
    }, cb)
  }

  private peerInfo(): Partial<AddressInfo> {
    return (this.peer ??= addressInfo(() => this.connection.remoteAddress))
  }

  private localInfo(): Partial<AddressInfo> {
    return (this.local ??= addressInfo(() => this.connection.localAddress))
  }

  private isTcp(): boolean {
    if (this.destroyed) return false
    try {
      return this.connection.localAddress.family !== 'unix'
    } catch {
      return false
    }
  }

  /** Socket options on a socket the peer already reset fail with EINVAL & co: Node ignores those too. */
  private tryOption(set: () => void): void {
    try {
      set()
    } catch {
      // the socket is going away; nothing to configure
    }
  }
}

/** An IP address as Node's `AddressInfo`; `{}` for a unix socket or a socket already gone (as `net.Socket`). */
function addressInfo(get: () => SocketAddress): Partial<AddressInfo> {
  try {
    const a = get()
    return a.family === 'unix' ? {} : { address: a.address, family: a.family, port: a.port }
  } catch {
    return {}
  }
}

/** A string as bytes in its encoding (UTF-8 strings go to the write queue as they are: it encodes them into its chunk). */
function toBytes(s: string, encoding: BufferEncoding): string | Buffer {
  return encoding === 'utf8' || encoding === 'utf-8' ? s : Buffer.from(s, encoding)
}
