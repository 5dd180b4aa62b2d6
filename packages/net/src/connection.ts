/**
 * A connected stream socket (TCP or Unix): an Observable of received chunks
 * and an ordered write queue.
 *
 * @packageDocumentation
 */
import { Observable } from 'rxjs'
import { EPIPE, getProactor, IoError, sockets, WriteQueue, type Proactor, type WriteData } from '@ringio/core/transport'
import { ECONNRESET, IPPROTO_TCP, SHUT_WR, SO_ERROR, SO_KEEPALIVE, SOL_SOCKET, TCP_CLOSE, TCP_INFO, TCP_KEEPIDLE, TCP_NODELAY } from './constants.js'
import { readPool } from './read-pool.js'
import { decodeSockaddr, type SocketAddress } from './sockaddr.js'
import { SocketReader } from './socket-reader.js'
import { PullReader } from './pull-reader.js'
import { beginDelivery, endDelivery, type Holdable } from './delivery.js'
import { WriteBackpressure } from './write-backpressure.js'
import { LentSink, SubscriberSink } from './subscriber-sink.js'

/** A chunk lent from the shared read pool (zero-copy mode): call `release()` once you are done with `data`. */
export interface LentChunk {
  /** A view into a pooled buffer: valid until `release()`. */
  readonly data: Buffer
  /** Gives the buffer back to the pool. Idempotent. Until every chunk is released the pool shrinks. */
  release(): void
}

/** Options of a connection. */
export interface ConnectionOptions {
  /**
   * Write queue high-water mark in bytes. Default 64 KiB. A write that leaves
   * the queue at or above it while a ringio source is handing out data
   * (inside a `data$`/`messages$` callback) pauses that source until the
   * queue drains — see {@link Connection.write}.
   */
  highWaterMark?: number
}

/** Options of {@link Connection.read}. */
export interface ReadOptions {
  /**
   * Called after each chunk is handed out; when it returns a promise, the
   * next receive waits until it settles (the kernel receive is paused
   * meanwhile). E.g. `pace: () => out.ready()` reads no faster than `out`
   * writes, whatever the consumer does asynchronously in between. A rejected
   * promise ends the Observable with its reason.
   */
  pace?: () => PromiseLike<unknown> | void
}

/**
 * A connected stream socket.
 *
 * ## Example
 * ```ts
 * conn.data$.subscribe({ next: (b) => conn.write(b), complete: () => conn.end() })
 * conn.write('a'); conn.write('b'); conn.write('c')   // the peer reads "abc", always
 * ```
 * The fd is closed when both directions are done (EOF was read *and* `end()`
 * finished), when the socket fails, or on `close()`.
 */
export class Connection implements AsyncIterable<Buffer> {
  /** The socket's fd (owned by this connection). */
  readonly fd: number
  /**
   * The received bytes, as owned Buffers (safe to keep and use with async
   * operators). Completes on peer EOF, errors with `IoError` (`ECONNRESET`…).
   * One subscriber at a time; nothing is emitted inside `subscribe()`.
   *
   * # Backpressure
   * Push, with one automatic brake: a `write()` (to any ringio connection,
   * this one included) made synchronously inside a chunk's callback that
   * leaves the destination's queue at or above its high-water mark pauses
   * this receive until that queue drains. So `data$.subscribe((b) =>
   * out.write(b))` and {@link writeTo} stay bounded by themselves. Work that
   * finishes later (`concatMap` with an async inner, `delay`) is not seen:
   * pace such consumers with {@link Connection.read}`({ pace })`.
   *
   * # Cancel safety
   * Unsubscribing cancels the receive in the kernel. Bytes that arrive before
   * the cancel lands are kept and go to the next subscriber: nothing is lost.
   */
  get data$(): Observable<Buffer> {
    if (this.data === null) {
      this.data = this.read()
      lenders.set(this.data, this)
    }
    return this.data
  }
  /** Zero-copy mode: chunks lent from the shared pool; each must be `release()`d. Excludes `data$`. */
  get lent$(): Observable<LentChunk> {
    return (this.lent ??= new Observable<LentChunk>((sub) => {
      this.reader.attach(new LentSink(sub), true)
      return () => this.reader.detach()
    }))
  }
  // Made on first read: each is an Observable and a closure, and many connections never touch `lent$`.
  private data: Observable<Buffer> | null = null
  private lent: Observable<LentChunk> | null = null
  /** Resolves when the fd is closed. */
  readonly closed: Promise<void>
  private readonly proactor: Proactor
  private readonly reader: SocketReader
  private readonly writer: WriteQueue
  /** The last write's Promise, already marked handled. */
  private lastWrite: Promise<void> | null = null
  private isClosed = false
  private ended = false
  private resolveClosed!: () => void
  private readonly backpressure: WriteBackpressure
  private local: SocketAddress | undefined
  private remote: SocketAddress | undefined

  /** Wraps an fd this connection then owns (from accept or connect). */
  constructor(fd: number, opts: ConnectionOptions = {}) {
    this.fd = fd
    this.proactor = getProactor()
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve))
    this.reader = new SocketReader(this.proactor, fd, readPool(), (err) => this.onReadDone(err), () => this.eofError())
    this.writer = new WriteQueue(this.proactor, fd, {
      kind: 'socket',
      highWaterMark: opts.highWaterMark,
      onDrain: () => this.backpressure.drained(),
      onEnd: (c) => this.proactor.start({ kind: 'shutdown', fd, how: SHUT_WR }, c),
      // A failed send means a dead socket: data$ errors with the same error, the fd goes.
      onError: (err) => {
        this.reader.fail(err)
        this.close()
      },
    })
    this.backpressure = new WriteBackpressure(this.writer, () => this.closedError())
  }

  /**
   * The received bytes, like {@link data$}, read no faster than `pace` allows.
   *
   * ## Example
   * ```ts
   * // Each chunk is stored asynchronously; the next receive waits for that work.
   * let work: Promise<unknown> = Promise.resolve()
   * conn.read({ pace: () => work }).subscribe((chunk) => { work = store(chunk) })
   * ```
   * Errors: as `data$`, plus the reason of a rejected `pace` promise.
   *
   * # Cancel safety
   * As `data$`: unsubscribing cancels the receive and loses nothing.
   */
  read(opts: ReadOptions = {}): Observable<Buffer> {
    const pace = opts.pace
    return new Observable<Buffer>((sub) => {
      this.reader.attach(new SubscriberSink(sub, this.reader, pace), false)
      return () => this.reader.detach()
    })
  }

  /**
   * Resolves once the write queue is below its high-water mark (at once if
   * it is). Rejects with `IoError` `EPIPE` once the connection is closed or
   * ended, or failed meanwhile: a paced reader then stops.
   */
  ready(): Promise<void> {
    return this.backpressure.ready(this.isClosed)
  }

  /** What writing to (or waiting on) a closed connection rejects with. */
  private closedError(): IoError {
    return new IoError(EPIPE, 'write', this.fd, { message: 'write on a closed connection (EPIPE)' })
  }

  /** Emits when the write queue empties after reaching the high-water mark. */
  get drain$(): Observable<void> {
    return this.writer.drain$
  }

  /** Bytes accepted by `write()` and not yet taken by the kernel. */
  get writableLength(): number {
    return this.writer.writableLength
  }

  /** Bytes received on this connection so far. */
  get bytesRead(): number {
    return this.reader.bytesRead
  }

  /** Bytes the kernel has taken for sending on this connection so far (`writableLength` more are queued). */
  get bytesWritten(): number {
    return this.writer.bytesWritten
  }

  /** False while the write queue is at or above its high-water mark (or the stream is closed). */
  get writable(): boolean {
    return this.writer.writable
  }

  /**
   * Queues `data` behind every earlier write; resolves when the kernel has
   * taken all of it. Buffers up to 4 KiB are copied (reuse them at once);
   * larger ones must stay untouched until the Promise settles.
   *
   * The returned Promise is already marked handled: fire-and-forget writes do
   * not crash the process on a reset; the failure also errors `data$`.
   * @returns rejects with `IoError`: `EPIPE` after `end()`/`close()`, `ECANCELED` when closed with the write pending, the socket's error (`ECONNRESET`, `EPIPE`) on failure
   */
  write(data: WriteData): Promise<void> {
    if (this.isClosed) return handled(Promise.reject(this.closedError()))
    const p = this.writer.write(data)
    // Small writes in the same chunk share one Promise: mark it handled once.
    if (p !== this.lastWrite) this.lastWrite = handled(p)
    this.backpressure.wrote()
    return p
  }

  /** Half-closes after every queued write is sent (SHUTDOWN SHUT_WR: the peer reads EOF). */
  end(): Promise<void> {
    if (this.isClosed) return Promise.resolve()
    return handled(
      this.writer.end().then(() => {
        this.ended = true
        if (this.reader.finished) this.close()
      }),
    )
  }

  /**
   * Abrupt: pending writes reject with `ECANCELED`, `data$` completes, the fd
   * is closed now. Idempotent. The graceful form is {@link end} (the fd is
   * closed once the peer has ended too). Same as {@link close}.
   */
  destroy(): void {
    this.close()
  }

  /**
   * Closes now, as {@link destroy} does (on a Connection `close()` is
   * abrupt; on the message channels — UDP, SEQPACKET, framed — `close()` is
   * graceful and `destroy()` abrupt): pending writes reject with
   * `ECANCELED`, `data$` completes, the fd is closed. Idempotent.
   */
  close(): void {
    if (this.isClosed) return
    this.isClosed = true
    this.reader.stop()
    this.writer.fail()
    if (this.proactor.closed) {
      sockets.closeSync(this.fd)
      this.resolveClosed()
      return
    }
    this.proactor.start({ kind: 'close', fd: this.fd }, { complete: () => this.resolveClosed() })
  }

  /** The local address. */
  get localAddress(): SocketAddress {
    return (this.local ??= decodeSockaddr(sockets.sockName(this.fd)))
  }

  /** The peer's address. */
  get remoteAddress(): SocketAddress {
    return (this.remote ??= decodeSockaddr(sockets.peerName(this.fd)))
  }

  /** Disables (true, the default ringio sets) or enables Nagle's algorithm. TCP only. */
  setNoDelay(noDelay = true): void {
    sockets.setIntOption(this.fd, IPPROTO_TCP, TCP_NODELAY, noDelay ? 1 : 0)
  }

  /** Enables TCP keep-alive probes, after `initialDelayMs` of idle (rounded to seconds) when given. */
  setKeepAlive(enable = true, initialDelayMs?: number): void {
    sockets.setIntOption(this.fd, SOL_SOCKET, SO_KEEPALIVE, enable ? 1 : 0)
    if (enable && initialDelayMs !== undefined) {
      sockets.setIntOption(this.fd, IPPROTO_TCP, TCP_KEEPIDLE, Math.max(1, Math.round(initialDelayMs / 1000)))
    }
  }

  /**
   * `for await (const chunk of conn)`: the received chunks until EOF. A slow
   * loop pauses the kernel receive (backpressure); breaking out stops reading.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    const reader = this.pull()
    try {
      for (let chunk = await reader.next(); chunk !== null; chunk = await reader.next()) yield chunk
    } finally {
      reader.close()
    }
  }

  /**
   * recv returns 0 after a reset too, when a send consumed the socket's error
   * first. A reset leaves the error pending (SO_ERROR) or the TCP state CLOSE,
   * where a peer's FIN leaves CLOSE_WAIT as long as we have not ended our side.
   */
  private eofError(): IoError | null {
    try {
      const pending = sockets.getIntOption(this.fd, SOL_SOCKET, SO_ERROR)
      if (pending !== 0) return new IoError(pending, 'recv', this.fd)
      // Once we sent FIN, CLOSE is where a clean close ends too (the socket went to TIME_WAIT).
      // Not merely once end() was called: with writes still queued behind it no FIN is out,
      // and CLOSE means a reset.
      if (this.writer.endSubmitted || this.localAddress.family === 'unix') return null
      const state = sockets.getIntOption(this.fd, IPPROTO_TCP, TCP_INFO) & 0xff
      return state === TCP_CLOSE ? new IoError(ECONNRESET, 'recv', this.fd) : null
    } catch {
      return null
    }
  }

  /**
   * A pull-style reader of this connection's bytes (what `for await` and the
   * stream bridges use). Chunks it read ahead and did not hand out go back to
   * the connection when it closes, so the next reader gets them.
   */
  pull(highWater = 16): PullReader {
    return new PullReader(this.data$, highWater, (chunks) => this.reader.unread(chunks), () => this.reader.holdReadAhead())
  }

  /**
   * Begins handing out this connection's data outside `data$` (framed
   * channels hand out decoded frames): until {@link endDelivery}, a write
   * into a full queue pauses this connection's receive. Returns what to pass
   * to `endDelivery` (call it in a `finally`). @internal
   */
  beginDelivery(): unknown {
    return beginDelivery(this.reader)
  }

  /** Ends what {@link beginDelivery} began. @internal */
  endDelivery(outer: unknown): void {
    endDelivery(outer as Holdable | null)
  }

  /**
   * True while a destination's full queue or a pace holds this connection's
   * receive: a consumer handing out data it buffered (framed channels)
   * should wait for {@link unbraked} too. @internal
   */
  get braked(): boolean {
    return this.reader.braked
  }

  /** Resolves once {@link braked} is false. @internal */
  unbraked(): Promise<void> {
    return this.reader.unbraked()
  }

  private onReadDone(err: IoError | null): void {
    if (err !== null) {
      // A reset fails every pending write with the same error, then the fd goes.
      this.writer.fail(err)
      this.close()
    } else if (this.ended) {
      this.close()
    }
  }
}

/** Each connection's `data$`, to its connection: see {@link lendingSource}. */
const lenders = new WeakMap<Observable<Buffer>, Connection>()

/**
 * The connection whose `data$` `source` is, or null: an operator given that
 * very Observable (`writeTo`) may read its `lent$` instead and skip a copy.
 * @internal
 */
export function lendingSource(source: Observable<unknown>): Connection | null {
  return lenders.get(source as Observable<Buffer>) ?? null
}

function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(noop)
  return p
}
function noop(): void {}
