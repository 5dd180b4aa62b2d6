/**
 * Message channels: the shape every message-oriented transport shares (UDP,
 * Unix SOCK_SEQPACKET, a byte stream framed by a codec), and the ordered
 * {@link MessageQueue} that sends one whole message per operation.
 *
 * A byte stream's {@link WriteQueue} coalesces writes into one writev; on a
 * SOCK_SEQPACKET or datagram socket that would send *one* record holding all
 * of them and break the boundaries. A message queue never coalesces.
 *
 * @packageDocumentation
 */
import { Subject, type Observable } from 'rxjs'
import type { Completion, OpId, Proactor } from './proactor.js'
import { ECANCELED, IoError } from './errors.js'

/**
 * A bidirectional channel of whole messages: what arrives is `messages$`,
 * what leaves is `send()`. Boundaries are preserved end to end, empty
 * messages included where the transport has them.
 *
 * ## Example
 * ```ts
 * const ch: Channel<Buffer> = await seqpacket.connect({ path: '\0svc' })
 * ch.messages$.subscribe((m) => console.log(`got ${m.length} bytes`))
 * await ch.send(Buffer.from('hello'))    // one message, in call order
 * ch.close()
 * ```
 *
 * # Cancel safety
 * Unsubscribing from `messages$` stops receiving; a message that raced the
 * cancel is kept for the next subscriber (implementations document any
 * exception). One subscriber at a time.
 *
 * @typeParam In what `messages$` emits
 * @typeParam Out what `send()` accepts (defaults to `In`)
 */
export interface Channel<In, Out = In> {
  /** The received messages, one emission per message. Completes when the peer is done; errors with the transport's or the protocol's error. */
  readonly messages$: Observable<In>
  /**
   * Queues one message behind every earlier one; resolves when the kernel
   * took it whole. Rejects with `IoError` `EPIPE` once the channel is closed,
   * or with the reason the message could not be sent.
   */
  send(msg: Out): Promise<void>
  /**
   * Closes the channel: messages already accepted by `send()` are still sent
   * (or reject with the reason), later sends reject with `EPIPE`, receiving
   * stops and `messages$` completes. Idempotent.
   */
  close(): void
  /** Resolves once the underlying handle is released. */
  readonly closed: Promise<void>
}

/** Options of a {@link MessageQueue}. */
export interface MessageQueueOptions<M> {
  /** Starts the send of one message; must complete `c` exactly once. */
  start: (msg: M, c: Completion) => OpId
  /** For errors: the operation name (e.g. `'sendmsg'`) and handle. */
  op: string
  handle?: number | string
  /**
   * Whether a failed send fails the whole queue (every pending message rejects
   * with the same error). Default: every error is fatal. A UDP socket passes
   * a predicate that keeps per-datagram errors (`EMSGSIZE`, `ECONNREFUSED`…)
   * to the one message.
   */
  fatal?: (errno: number) => boolean
  /** `size` at or above which `writable` is false and `drain$` will emit. Default 1024 messages. */
  highWaterMark?: number
}

/**
 * An ordered queue of whole messages over one fd: exactly one send operation
 * in flight, one message per operation, never coalesced. Messages reach the
 * kernel in `enqueue()` order even when a send parks on a full socket buffer
 * (two in-flight sends on one socket may complete out of order).
 *
 * Nothing accepted is dropped silently: each `enqueue()` Promise resolves
 * when its message was sent, or rejects with the reason.
 *
 * ## Example
 * ```ts
 * const q = new MessageQueue<Buffer>(getProactor(), { op: 'send', start: (m, c) => p.send(fd, m, 0, c) })
 * await Promise.all([q.enqueue(a), q.enqueue(b)])   // two records, a then b
 * ```
 */
export class MessageQueue<M> implements Completion {
  private readonly msgs: M[] = []
  private readonly resolves: ((v: void) => void)[] = []
  private readonly rejects: ((e: unknown) => void)[] = []
  private head = 0
  private inflight: OpId = -1
  private startQueued = false
  private failure: Error | null = null
  private closing: (() => void) | null = null
  private readonly drainSubject = new Subject<void>()
  private needDrain = false
  private readonly hwm: number
  private readonly startTask = (): void => this.startNext()

  /** Emits each time the queue empties after reaching the high-water mark. */
  readonly drain$: Observable<void> = this.drainSubject.asObservable()

  constructor(
    private readonly proactor: Proactor,
    private readonly opts: MessageQueueOptions<M>,
  ) {
    this.hwm = opts.highWaterMark ?? 1024
  }

  /** Messages accepted and not yet sent. */
  get size(): number {
    return this.msgs.length - this.head
  }

  /** False at or above the high-water mark, or once failed/ended: wait for `drain$`. */
  get writable(): boolean {
    return this.size < this.hwm && this.failure === null && this.closing === null
  }

  /** The error the queue failed with, if any. */
  get error(): Error | null {
    return this.failure
  }

  /**
   * Queues `msg` after every earlier message.
   * @returns resolves once sent; rejects with the send's `IoError`, with
   * `EPIPE` after `end()`, or with the error the queue failed with
   */
  enqueue(msg: M): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure)
    if (this.closing !== null) return Promise.reject(epipe(this.opts))
    return new Promise<void>((resolve, reject) => {
      this.msgs.push(msg)
      this.resolves.push(resolve)
      this.rejects.push(reject)
      if (this.size >= this.hwm) this.needDrain = true
      this.schedule()
    })
  }

  /** No more messages: `onEmpty` runs once every accepted message was sent or rejected. */
  end(onEmpty: () => void): void {
    if (this.closing !== null) return
    this.closing = onEmpty
    if (this.inflight === -1 && this.size === 0) this.finishEnd()
  }

  /** Fails the queue: pending messages reject with `err` (default `ECANCELED`), the in-flight send is cancelled. */
  fail(err: Error = new IoError(ECANCELED, this.opts.op, this.opts.handle, { message: `${this.opts.op} cancelled: the channel was closed` })): void {
    if (this.failure !== null) return
    this.failure = err
    if (this.inflight !== -1) this.proactor.cancel(this.inflight)
    const rejects = this.rejects.slice(this.head)
    this.msgs.length = this.resolves.length = this.rejects.length = 0
    this.head = 0
    for (const r of rejects) r(err)
    this.drainSubject.complete()
    if (this.inflight === -1) this.finishEnd()
  }

  /** The send completion (the queue is its own target: no allocation per message). */
  complete(res: number): void {
    this.inflight = -1
    if (this.failure !== null) {
      this.finishEnd()
      return
    }
    const at = this.head
    const resolve = this.resolves[at]!
    const reject = this.rejects[at]!
    this.shift()
    if (res < 0) {
      const err = new IoError(-res, this.opts.op, this.opts.handle)
      if (this.opts.fatal === undefined || this.opts.fatal(-res)) {
        reject(err)
        this.fail(err)
        return
      }
      reject(err)
    } else {
      resolve()
    }
    if (this.needDrain && this.size === 0) {
      this.needDrain = false
      this.drainSubject.next()
    }
    // Start the next one right away: it rides in the same submission batch.
    this.startNext()
  }

  private schedule(): void {
    if (this.inflight !== -1 || this.startQueued) return
    this.startQueued = true
    this.proactor.beforeSubmit(this.startTask)
  }

  private startNext(): void {
    this.startQueued = false
    if (this.inflight !== -1 || this.failure !== null) return
    if (this.size === 0) {
      this.finishEnd()
      return
    }
    if (this.proactor.closed) {
      this.fail(new IoError(ECANCELED, this.opts.op, this.opts.handle, { message: `${this.opts.op} cancelled: the proactor was closed` }))
      return
    }
    try {
      this.inflight = this.opts.start(this.msgs[this.head]!, this)
    } catch (err) {
      this.inflight = -1
      const reject = this.rejects[this.head]!
      this.shift()
      reject(err)
      this.schedule()
    }
  }

  private shift(): void {
    this.msgs[this.head] = undefined as M
    this.head++
    if (this.head > 1024 && this.head * 2 > this.msgs.length) {
      this.msgs.splice(0, this.head)
      this.resolves.splice(0, this.head)
      this.rejects.splice(0, this.head)
      this.head = 0
    }
  }

  private finishEnd(): void {
    const done = this.closing
    if (done === null || this.inflight !== -1 || this.size > 0) return
    this.closing = noop
    if (done !== noop) done()
  }
}

function epipe(o: { op: string; handle?: number | string }): IoError {
  return new IoError(32, o.op, o.handle, { message: `${o.op} on a closed channel (EPIPE)` })
}

/** The error a send on a closed channel rejects with: an `IoError` `EPIPE` naming the operation. */
export function closedChannelError(op: string, handle?: number | string): IoError {
  return epipe({ op, handle })
}

function noop(): void {}

const TRUNCATED = Symbol.for('ringio.MessageTruncatedError')

/**
 * A received message was longer than the receive buffer (the kernel set
 * `MSG_TRUNC`): its tail is gone. Raised instead of delivering a silently
 * cut message; raise `maxMessage` if your protocol needs bigger ones.
 */
export class MessageTruncatedError extends Error {
  /** The message's real length, when the transport reports it (else -1). */
  readonly size: number
  /** The receive buffer's capacity. */
  readonly capacity: number
  /** Marker for {@link MessageTruncatedError.is}. */
  readonly [TRUNCATED] = true

  constructor(size: number, capacity: number) {
    super(`message of ${size >= 0 ? `${size} bytes` : 'unknown size'} truncated to the receive buffer of ${capacity} bytes (MSG_TRUNC); raise maxMessage`)
    this.name = 'MessageTruncatedError'
    this.size = size
    this.capacity = capacity
  }

  /** True for any `MessageTruncatedError`, even from another copy of the package. */
  static is(x: unknown): x is MessageTruncatedError {
    return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[TRUNCATED] === true
  }
}
