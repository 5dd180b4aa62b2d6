/**
 * The ordered send queue of a message channel: one whole message per
 * operation, never coalesced, with a bounded window of sends in flight.
 *
 * @packageDocumentation
 */
import { Subject, type Observable } from 'rxjs'
import type { Completion, OpId, Proactor } from './proactor.js'
import { IoError } from './errors.js'
import { ECANCELED, EPIPE } from './sys/errno.js'

/** Options of a {@link MessageQueue}. */
export interface MessageQueueOptions<M> {
  /**
   * Starts the send of one message; must complete `c` exactly once. `slot`
   * (0 ≤ slot < `window`) is free for this send alone until `c` completes:
   * index per-send scratch (a msghdr) with it.
   */
  start: (msg: M, c: Completion, slot: number) => OpId
  /** For errors: the operation name (e.g. `'sendmsg'`), the `op` of the {@link IoError}s the queue raises. */
  op: string
  /** For errors: the handle (fd, path) the queue sends on, the `handle` of its {@link IoError}s. */
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
  /**
   * Sends in flight at once (default 1). With 1, messages reach the kernel
   * strictly in `enqueue()` order, even when a send parks on a full socket
   * buffer. With more, the sends started together go to the kernel in one
   * batch, issued in order, and the kernel runs each at once while the socket
   * buffer has room; sends that must wait for room may then go out in a
   * different order. Only for transports that promise no order of their own
   * (UDP).
   */
  window?: number
}

/** One send in flight: its own completion target, so sends may complete in any order. */
class InFlight implements Completion {
  resolve: ((v: void) => void) | null = null
  reject: ((e: unknown) => void) | null = null
  op: OpId = -1

  constructor(
    private readonly queue: MessageQueue<unknown>,
    readonly slot: number,
  ) {}

  complete(res: number): void {
    this.queue.settle(this, res)
  }
}

/**
 * An ordered queue of whole messages over one fd: up to `window` send
 * operations in flight (default 1), one message per operation, never
 * coalesced; see {@link MessageQueueOptions.window} for the order it keeps.
 *
 * Nothing accepted is dropped silently: each `enqueue()` Promise resolves
 * when its message was sent, or rejects with the reason.
 *
 * ## Example
 * ```ts
 * const q = new MessageQueue<Buffer>(getProactor(), { op: 'send', start: (m, c) => p.start({ kind: 'send', fd, buf: m, flags: 0 }, c) })
 * await Promise.all([q.enqueue(a), q.enqueue(b)])   // two records, a then b
 * ```
 */
export class MessageQueue<M> {
  private readonly msgs: M[] = []
  private readonly resolves: ((v: void) => void)[] = []
  private readonly rejects: ((e: unknown) => void)[] = []
  private head = 0
  private readonly window: number
  private readonly slots: InFlight[] = []
  private readonly free: InFlight[] = []
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
    this.window = opts.window ?? 1
    if (!Number.isInteger(this.window) || this.window < 1 || this.window > 1024) {
      throw new RangeError(`window must be an integer 1..1024, got ${String(opts.window)}`)
    }
    for (let i = this.window - 1; i >= 0; i--) {
      const s = new InFlight(this as MessageQueue<unknown>, i)
      this.slots.push(s)
      this.free.push(s)
    }
  }

  /** Messages accepted and not yet sent (waiting or in flight). */
  get size(): number {
    return this.msgs.length - this.head + this.inFlight
  }

  /** Sends with the kernel now. */
  get inFlight(): number {
    return this.window - this.free.length
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
    this.finishEnd()
  }

  /** Fails the queue: pending and in-flight messages reject with `err` (default `ECANCELED`), in-flight sends are cancelled. */
  fail(err: Error = new IoError(ECANCELED, this.opts.op, this.opts.handle, { message: `${this.opts.op} cancelled: the channel was closed` })): void {
    if (this.failure !== null) return
    this.failure = err
    const rejects: ((e: unknown) => void)[] = []
    for (const s of this.slots) {
      if (s.reject === null) continue
      rejects.push(s.reject)
      s.resolve = s.reject = null
      this.proactor.cancel(s.op)
    }
    rejects.push(...this.rejects.slice(this.head))
    this.msgs.length = this.resolves.length = this.rejects.length = 0
    this.head = 0
    for (const r of rejects) r(err)
    this.drainSubject.complete()
    this.finishEnd()
  }

  /**
   * A send's completion (called by its `InFlight`).
   * @internal
   */
  settle(s: InFlight, res: number): void {
    const resolve = s.resolve
    const reject = s.reject
    s.resolve = s.reject = null
    s.op = -1
    this.free.push(s)
    if (this.failure !== null || reject === null) {
      this.finishEnd() // already rejected by fail()
      return
    }
    if (res < 0) {
      const err = new IoError(-res, this.opts.op, this.opts.handle)
      reject(err)
      if (this.opts.fatal === undefined || this.opts.fatal(-res)) {
        this.fail(err)
        return
      }
    } else {
      resolve!()
    }
    if (this.needDrain && this.size === 0) {
      this.needDrain = false
      this.drainSubject.next()
    }
    // Start the next ones right away: they ride in the same submission batch.
    this.startNext()
  }

  private schedule(): void {
    if (this.free.length === 0 || this.startQueued) return
    this.startQueued = true
    this.proactor.beforeSubmit(this.startTask)
  }

  private startNext(): void {
    this.startQueued = false
    if (this.failure !== null) return
    if (this.proactor.closed && this.msgs.length > this.head) {
      this.fail(new IoError(ECANCELED, this.opts.op, this.opts.handle, { message: `${this.opts.op} cancelled: the proactor was closed` }))
      return
    }
    while (this.free.length > 0 && this.msgs.length > this.head) {
      const s = this.free.pop()!
      const at = this.head
      const msg = this.msgs[at]!
      s.resolve = this.resolves[at]!
      s.reject = this.rejects[at]!
      this.shift()
      try {
        s.op = this.opts.start(msg, s, s.slot)
      } catch (err) {
        const reject = s.reject
        s.resolve = s.reject = null
        this.free.push(s)
        reject(err)
      }
    }
    this.finishEnd()
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
    if (done === null || this.size > 0) return
    this.closing = noop
    if (done !== noop) done()
  }
}

function epipe(o: { op: string; handle?: number | string }): IoError {
  return new IoError(EPIPE, o.op, o.handle, { message: `${o.op} on a closed channel (EPIPE)` })
}

/** The error a send on a closed channel rejects with: an `IoError` `EPIPE` naming the operation. */
export function closedChannelError(op: string, handle?: number | string): IoError {
  return epipe({ op, handle })
}

function noop(): void {}
