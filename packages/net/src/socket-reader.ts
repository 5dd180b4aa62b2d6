/**
 * The read side of a socket: a receive drawing buffers from the shared pool,
 * armed only while someone consumes and nobody holds it. Bytes never get lost
 * between consumers: what completes after an unsubscribe (the cancel races
 * the data) is kept and handed to the next consumer first.
 *
 * Backpressure: {@link SocketReader.hold} pauses the kernel receive until
 * released. On io_uring the receive is single-shot (see the proactor's
 * `recvMultishot`): a held reader simply is not re-armed, and one already in
 * the kernel hands out at most one more chunk. On the poll backend the
 * receive is multishot and is cancelled. Each chunk is handed out inside a
 * delivery scope (`delivery.ts`), so a write it causes into a full queue
 * holds this reader.
 *
 * @packageDocumentation
 */
import { allocChunk, ECANCELED, IoError, IORING_CQE_F_MORE, IORING_CQE_BUFFER_SHIFT, type BufferGroup, type Completion, type Proactor, type RecvMultishotOp } from '@ringio/core/transport'
import { ENOBUFS } from './constants.js'
import { beginDelivery, endDelivery, type Holdable } from './delivery.js'

/** Who receives the chunks. */
export interface ReadSink {
  /** A chunk: an owned Buffer, or (lent mode) a pool view valid until `release` is called. */
  next(data: Buffer, release: (() => void) | null): void
  /** Peer EOF. */
  complete(): void
  /** The socket failed (e.g. `ECONNRESET`). */
  error(err: IoError): void
  /**
   * True once the consumer unsubscribed, possibly before its teardown ran
   * (an unsubscribe from inside `next` during subscribe): chunks then go back
   * to the backlog instead of into a closed subscriber, where RxJS drops them.
   */
  readonly closed: boolean
}

/** The receive of one socket, its backlog and its holds. */
export class SocketReader implements Completion, Holdable {
  private sink: ReadSink | null = null
  private lent = false
  /** Bytes received from the kernel so far. */
  bytesRead = 0
  private armed = false
  private opId = -1
  private readonly backlog: Buffer[] = []
  private done: 'eof' | IoError | null = null
  private stopped = false
  /** Holds not yet released: the receive stays unarmed, and chunks wait in the backlog, while any is out. */
  private holds = 0
  /** Of those, the ones from a destination or a pace (not a pull reader's read-ahead): see {@link braked}. */
  private brakes = 0
  private unbrakeWaiters: (() => void)[] = []
  /** A new consumer's backlog replay is scheduled: chunks completing meanwhile join the backlog, in order. */
  private replaying = false
  /** Made when the pool first runs dry on this reader (its `onRelease` callback): most never need it. */
  private rearm: (() => void) | null = null
  /** EOF seen while the consumer still had chunks coming from the backlog: reported to `onDone` once they are handed out. */
  private eofPending = false
  // The receive, as data: one object for the connection's life (one receive in flight at a time).
  private readonly recvOp: RecvMultishotOp

  constructor(
    private readonly proactor: Proactor,
    private readonly fd: number,
    private readonly group: BufferGroup,
    private readonly onDone: (err: IoError | null) => void,
    /** Tells a reset from a clean EOF when recv returns 0 (see Connection). */
    private readonly eofError: () => IoError | null = () => null,
  ) {
    this.recvOp = { kind: 'recvMultishot', fd, group }
  }

  /** True once an error was seen, or EOF and the consumer was handed every chunk before it. */
  get finished(): boolean {
    return this.done !== null && !this.eofPending
  }

  /**
   * Attaches the one consumer; backlogged bytes go first, then the socket is
   * read. Nothing is emitted inside this call (inside `subscribe()`, where
   * the caller's own subscription does not exist yet): a backlog, or an end
   * already seen, is delivered from a microtask.
   */
  attach(sink: ReadSink, lent: boolean): void {
    if (this.sink !== null) throw new Error('ringio: this connection already has a reader (subscribe to data$ or lent$ once)')
    this.sink = sink
    this.lent = lent
    if (this.backlog.length === 0 && this.done === null) {
      this.arm()
      return
    }
    this.replaying = true
    void Promise.resolve().then(() => this.replay(sink))
  }

  /**
   * Pauses the consumer's chunks and the kernel receive until the returned
   * function is called (once; later calls do nothing): a destination whose
   * queue is full, or a consumer's pace. Holds add up: reading resumes when
   * the last is released. Nothing is lost: a chunk that completes meanwhile
   * waits in the backlog, unread bytes in the socket.
   */
  hold(): () => void {
    this.brakes++
    const release = this.holdReadAhead()
    let released = false
    return () => {
      if (released) return
      released = true
      if (--this.brakes === 0 && this.unbrakeWaiters.length > 0) for (const w of this.unbrakeWaiters.splice(0)) w()
      release()
    }
  }

  /** A hold that does not count as a brake: a pull reader that read far enough ahead. */
  holdReadAhead(): () => void {
    this.holds++
    // A multishot (poll backend) goes on delivering until cancelled; io_uring's single-shot receive just is not re-armed.
    if (this.armed && this.proactor.backend !== 'uring') this.proactor.cancel(this.opId)
    let released = false
    return () => {
      if (released) return
      released = true
      if (--this.holds === 0) this.resume()
    }
  }

  /** True while a destination or a pace holds this reader: a consumer handing out buffered data should wait too. */
  get braked(): boolean {
    return this.brakes > 0
  }

  /** Resolves when no brake is left (at once if none). */
  unbraked(): Promise<void> {
    if (this.brakes === 0) return Promise.resolve()
    return new Promise((resolve) => this.unbrakeWaiters.push(resolve))
  }

  /** The last hold went: hand over what waited in the backlog, then read on. */
  private resume(): void {
    const sink = this.sink
    // An end seen while held is handed out by the replay too (after the backlog, if any).
    if (sink !== null && !this.replaying && (this.backlog.length > 0 || this.done !== null)) this.replay(sink)
    else this.arm()
  }

  /** Puts chunks a consumer read ahead back in front of everything else, for the next consumer. */
  unread(chunks: Buffer[]): void {
    this.backlog.unshift(...chunks)
  }

  /** Detaches the consumer and cancels the receive in the kernel (cancel safety: nothing is lost). */
  detach(): void {
    this.sink = null
    if (this.armed) this.proactor.cancel(this.opId)
    this.reportEof()
  }

  /** Stops reading for good (the socket is closing): the consumer completes. */
  stop(): void {
    this.stopped = true
    const sink = this.sink
    this.detach()
    sink?.complete()
  }

  /**
   * Ends the read side with `err` (the socket failed on the write side: a
   * reset seen by send is not seen again by recv, which would report EOF).
   */
  fail(err: IoError): void {
    if (this.done !== null) return
    this.stopped = true
    if (this.armed) this.proactor.cancel(this.opId)
    this.end(err)
  }

  complete(res: number, flags: number): void {
    if ((flags & IORING_CQE_F_MORE) === 0) this.armed = false
    if (res > 0) {
      this.deliver(res, flags >>> IORING_CQE_BUFFER_SHIFT)
      if (!this.armed) this.arm()
    } else if (res === 0) {
      this.end(this.eofError() ?? 'eof')
    } else if (res === -ENOBUFS) {
      // The pool ran dry; the data waits in the socket. Resume when a buffer comes back.
      if (this.group.available > 0) this.arm()
      else this.group.onRelease((this.rearm ??= () => this.arm()))
    } else if (res === -ECANCELED) {
      if (this.sink !== null) this.arm() // re-subscribed while the cancel was in flight
    } else {
      this.end(new IoError(-res, 'recv', this.fd))
    }
  }

  private deliver(len: number, bid: number): void {
    this.bytesRead += len
    const sink = this.sink !== null && !this.sink.closed && !this.replaying && this.holds === 0 ? this.sink : null
    if (sink !== null && this.lent) {
      let released = false
      this.handOut(sink, this.group.view(bid, len), () => {
        if (!released) {
          released = true
          this.group.release(bid)
        }
      })
      return
    }
    const copy = allocChunk(len)
    this.group.copyOut(bid, len, copy, 0)
    this.group.release(bid)
    if (sink !== null) this.handOut(sink, copy, null)
    else this.backlog.push(copy)
  }

  /** Gives `sink` a chunk inside this reader's delivery scope (a write it causes into a full queue holds us). */
  private handOut(sink: ReadSink, data: Buffer, release: (() => void) | null): void {
    const outer = beginDelivery(this)
    try {
      sink.next(data, release)
    } finally {
      endDelivery(outer)
    }
  }

  /** Delivers the backlog to a consumer that attached while there was one, then reads on (or ends). */
  private replay(sink: ReadSink): void {
    this.replaying = false
    while (this.backlog.length > 0 && this.sink === sink && !sink.closed && this.holds === 0) this.handOut(sink, this.backlog.shift()!, null)
    if (this.sink !== sink || sink.closed || this.holds > 0) return // a hold resumes us when released
    if (this.done !== null) this.finish(sink)
    else this.arm()
  }

  private arm(): void {
    if (this.armed || this.holds > 0 || this.replaying || this.sink === null || this.done !== null || this.stopped || this.proactor.closed) return
    this.armed = true
    this.opId = this.proactor.start(this.recvOp, this)
  }

  private end(reason: 'eof' | IoError): void {
    this.done = reason
    // With chunks still waiting (a hold, a replay), the replay ends it after them.
    if (this.sink !== null && !this.replaying && this.backlog.length === 0) this.finish(this.sink)
    // An ended connection closes at EOF: not before a held consumer got the chunks still waiting.
    if (reason === 'eof' && this.sink !== null && this.backlog.length > 0) this.eofPending = true
    else this.onDone(reason === 'eof' ? null : reason)
  }

  private finish(sink: ReadSink): void {
    this.sink = null
    if (this.done === 'eof') sink.complete()
    else if (this.done !== null) sink.error(this.done)
    this.reportEof()
  }

  /** Tells the owner about an EOF held back for the backlog (see {@link end}); once. */
  private reportEof(): void {
    if (!this.eofPending) return
    this.eofPending = false
    this.onDone(null)
  }
}
