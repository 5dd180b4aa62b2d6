/**
 * The read side of a socket: one multishot RECV drawing buffers from the
 * shared pool, armed only while someone consumes. Bytes never get lost
 * between consumers: what completes after an unsubscribe (the cancel races
 * the data) is kept and handed to the next consumer first.
 *
 * @packageDocumentation
 */
import { allocChunk, ECANCELED, IoError, IORING_CQE_F_MORE, IORING_CQE_BUFFER_SHIFT, type BufferGroup, type Completion, type Proactor } from '@ringio/core'

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

const ENOBUFS = 105

/** The multishot receive of one socket. */
export class SocketReader implements Completion {
  private sink: ReadSink | null = null
  private lent = false
  private armed = false
  private opId = -1
  private readonly backlog: Buffer[] = []
  private done: 'eof' | IoError | null = null
  private stopped = false
  private readonly rearm = (): void => this.arm()

  constructor(
    private readonly proactor: Proactor,
    private readonly fd: number,
    private readonly group: BufferGroup,
    private readonly onDone: (err: IoError | null) => void,
    /** Tells a reset from a clean EOF when recv returns 0 (see Connection). */
    private readonly eofError: () => IoError | null = () => null,
  ) {}

  /** True once EOF or an error was seen. */
  get finished(): boolean {
    return this.done !== null
  }

  /** Attaches the one consumer; backlogged bytes go first, then the socket is read. */
  attach(sink: ReadSink, lent: boolean): void {
    if (this.sink !== null) throw new Error('ringio: this connection already has a reader (subscribe to data$ or lent$ once)')
    this.sink = sink
    this.lent = lent
    while (this.backlog.length > 0 && this.sink === sink && !sink.closed) sink.next(this.backlog.shift()!, null)
    if (this.sink !== sink || sink.closed) return
    if (this.done !== null) this.finish(sink)
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
      else this.group.onRelease(this.rearm)
    } else if (res === -ECANCELED) {
      if (this.sink !== null) this.arm() // re-subscribed while the cancel was in flight
    } else {
      this.end(new IoError(-res, 'recv', this.fd))
    }
  }

  private deliver(len: number, bid: number): void {
    const sink = this.sink !== null && !this.sink.closed ? this.sink : null
    if (sink !== null && this.lent) {
      let released = false
      sink.next(this.group.view(bid, len), () => {
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
    if (sink !== null) sink.next(copy, null)
    else this.backlog.push(copy)
  }

  private arm(): void {
    if (this.armed || this.sink === null || this.done !== null || this.stopped || this.proactor.closed) return
    this.armed = true
    this.opId = this.proactor.recvMultishot(this.fd, this.group, this)
  }

  private end(reason: 'eof' | IoError): void {
    this.done = reason
    if (this.sink !== null) this.finish(this.sink)
    this.onDone(reason === 'eof' ? null : reason)
  }

  private finish(sink: ReadSink): void {
    this.sink = null
    if (this.done === 'eof') sink.complete()
    else if (this.done !== null) sink.error(this.done)
  }
}
