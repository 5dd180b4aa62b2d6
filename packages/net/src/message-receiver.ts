/**
 * The receive core of the message channels (UDP and SEQPACKET): one RECVMSG
 * in flight while someone listens — multishot from the shared message pool
 * when a pool buffer holds the channel's largest message, else one at a time
 * into a header of the channel's own — the re-arm after the pool ran dry
 * (ENOBUFS: the messages wait in the socket, nothing is lost), the pooled
 * parse-copy-release sequence, a backlog for what arrives between
 * subscribers, and attach / detach / stop / end. A subclass only turns one
 * received message into what it emits ({@link MessageReceiver.take}).
 *
 * @packageDocumentation
 */
import type { Subscriber } from 'rxjs'
import {
  ECANCELED,
  IoError,
  IORING_CQE_BUFFER_SHIFT,
  IORING_CQE_F_BUFFER,
  IORING_CQE_F_MORE,
  parseRecvmsgOut,
  RECVMSG_OUT,
  type BufferGroup,
  type Completion,
  type OpId,
  type Proactor,
  type RecvmsgMultishotOp,
  type RecvmsgOp,
  type RecvmsgOut,
} from '@ringio/core/transport'
import { EFAULT, ENOBUFS } from './constants.js'
import { MSG_TRUNC, multishotMsghdr, RecvHeader } from './msghdr.js'
import { messagePool } from './read-pool.js'
import { MSG_CMSG_CLOEXEC } from './scm-rights.js'

/**
 * One received message, where it landed (a pool buffer or the channel's own
 * header). Its buffers are valid only during {@link MessageReceiver.take}:
 * copy out what you keep.
 */
export interface ReceivedMessage {
  /** Holds the stored payload at `payloadOffset`. */
  buf: Buffer
  payloadOffset: number
  /** Payload bytes stored (at most the room there was). */
  stored: number
  /** The message's real length (the call passes MSG_TRUNC). */
  size: number
  /** The msghdr's `msg_flags` (MSG_TRUNC, MSG_CTRUNC). */
  flags: number
  /** The sender's sockaddr (empty when the channel reserves no room for it). */
  name: Buffer
  /** Holds the control data (ancillary messages) at `controlOffset`. */
  control: Uint8Array
  controlOffset: number
  controlLength: number
}

/** How a kind of channel treats errors and late subscribers. */
export interface ReceiverPolicy {
  /** Named in the error a second subscriber gets: "this `what` already has a subscriber". */
  what: string
  /** True: a receive error (or EOF) ends the stream for good. False: it errors the current subscriber only, and receiving goes on for the next one. */
  errorsEnd: boolean
  /** True: what arrived before `stop()` is still handed to a later subscriber. False: `stop()` drops it. */
  drainAfterStop: boolean
}

const NO_NAME = Buffer.alloc(0)

/** The receive mechanics of a message channel; subclasses turn each message into an item. */
export abstract class MessageReceiver<T> implements Completion {
  private sub: Subscriber<T> | null = null
  /** Multishot mode: the shared pool; null in the one-at-a-time fallback (or before the first arm). */
  private group: BufferGroup | null = null
  // The receive, as data, made once for the channel's life (one receive in flight at a time).
  private poolOp: RecvmsgMultishotOp | null = null
  private ownOp: RecvmsgOp | null = null
  /** Fallback mode: the channel's own receive header. */
  private hdr: RecvHeader | null = null
  private armed = false
  private stopped = false
  /** Set once the stream ended for good (`errorsEnd` channels): EOF or the error. */
  private ended: Error | 'eof' | null = null
  private readonly backlog: (T | Error)[] = []
  /** Reused by `parseRecvmsgOut` for every pooled completion. */
  private readonly out: RecvmsgOut = {} as RecvmsgOut
  /** Reused for every message handed to `take`. */
  private readonly received: ReceivedMessage = {
    buf: NO_NAME,
    payloadOffset: 0,
    stored: 0,
    size: 0,
    flags: 0,
    name: NO_NAME,
    control: NO_NAME,
    controlOffset: 0,
    controlLength: 0,
  }
  private msg: Buffer | null = null
  private modeChosen = false
  private waitingForBuffer = false
  private opId: OpId = -1
  private readonly rearm = (): void => {
    this.waitingForBuffer = false
    this.arm()
  }

  /**
   * @param nameSpace bytes reserved for the sender's address in each buffer
   * @param controlSpace bytes reserved for ancillary data in each buffer
   * @param onEnd called once when an `errorsEnd` stream ends (null: EOF)
   */
  constructor(
    protected readonly proactor: Proactor,
    protected readonly fd: number,
    protected readonly capacity: number,
    protected readonly nameSpace: number,
    protected readonly controlSpace: number,
    private readonly policy: ReceiverPolicy,
    private readonly onEnd?: (err: Error | null) => void,
  ) {}

  /**
   * Turns one received message into what `messages$` emits (copied out of
   * `m`), an error, or `'eof'` (`errorsEnd` channels only).
   */
  protected abstract take(m: ReceivedMessage): T | Error | 'eof'

  /** A pooled message that will never be read (the stream ended): release what it holds beyond the buffer. */
  protected drop(_m: ReceivedMessage): void {}

  /** Hands the backlog, then the live messages, to `sub`; throws if another subscriber is attached. */
  attach(sub: Subscriber<T>): void {
    if (this.sub !== null) throw new Error(`ringio: this ${this.policy.what} already has a subscriber (subscribe to messages$ once)`)
    this.sub = sub
    while (this.backlog.length > 0 && this.sub === sub) this.emit(this.backlog.shift()!)
    if (this.sub !== sub) return
    if (this.ended !== null || this.stopped) this.finish(sub)
    else this.arm()
  }

  /** Detaches `sub` and cancels the receive in the kernel (what still completes goes to the backlog). */
  detach(sub: Subscriber<T>): void {
    if (this.sub !== sub) return
    this.sub = null
    this.cancelReceive()
  }

  /** Stops receiving for good (the channel closes): the subscriber, if any, completes. */
  stop(): void {
    this.stopped = true
    if (!this.policy.drainAfterStop) this.backlog.length = 0
    const sub = this.sub
    if (sub !== null) {
      this.detach(sub)
      this.finish(sub)
    }
    if (!this.armed) this.hdr = null
  }

  complete(res: number, flags: number): void {
    if ((flags & IORING_CQE_F_MORE) === 0) this.armed = false
    if ((flags & IORING_CQE_F_BUFFER) !== 0) return this.fromPool(flags >>> IORING_CQE_BUFFER_SHIFT, res)
    if (res === -ECANCELED) {
      this.next() // a new subscriber may have come while the cancel was in flight
      return
    }
    if (this.ended !== null) return // what a cancelled multishot still reported after the end
    if (this.noBuffers(res)) return
    if (res < 0) return this.outcome(new IoError(-res, 'recvmsg', this.fd))
    const hdr = this.hdr!
    const m = this.received
    m.buf = hdr.data
    m.payloadOffset = 0
    m.stored = Math.min(res, this.capacity)
    m.size = res
    m.flags = hdr.flags
    m.name = this.nameSpace > 0 ? hdr.sender : NO_NAME
    m.control = hdr.control
    m.controlOffset = 0
    m.controlLength = hdr.controlLength
    this.outcome(this.take(m))
  }

  /** A message in pool buffer `bid`: parsed, copied out by `take`, the buffer released at once. */
  private fromPool(bid: number, res: number): void {
    const group = this.group!
    const view = group.view(bid, res)
    const out = parseRecvmsgOut(view, this.nameSpace, this.controlSpace, this.out)
    if (out === null) {
      group.release(bid)
      if (this.dropping()) return
      return this.outcome(new IoError(EFAULT, 'recvmsg', this.fd))
    }
    const m = this.received
    m.buf = view
    m.payloadOffset = out.payloadOffset
    m.stored = out.payloadBytes
    m.size = out.payloadlen
    m.flags = out.flags
    m.name = this.nameSpace > 0 ? view.subarray(out.nameOffset, out.nameOffset + Math.min(out.namelen, this.nameSpace)) : NO_NAME
    m.control = view
    m.controlOffset = out.controlOffset
    m.controlLength = out.controllen
    if (this.dropping()) {
      this.drop(m)
      group.release(bid)
      return
    }
    let item: T | Error | 'eof'
    try {
      item = this.take(m)
    } finally {
      group.release(bid)
    }
    this.outcome(item)
  }

  /** Nobody will ever read what arrives now. */
  private dropping(): boolean {
    return this.ended !== null || (this.stopped && this.sub === null && !this.policy.drainAfterStop)
  }

  /** Delivers, stores or ends with what one completion gave, then receives the next. */
  private outcome(item: T | Error | 'eof'): void {
    if (this.policy.errorsEnd && (item === 'eof' || item instanceof Error)) return this.end(item as Error | 'eof')
    if (item !== 'eof') {
      if (this.sub !== null) this.emit(item)
      else if (this.policy.drainAfterStop || !this.stopped) this.backlog.push(item)
    }
    this.next()
  }

  private next(): void {
    if (this.stopped) this.hdr = null
    else this.arm()
  }

  private emit(item: T | Error): void {
    const sub = this.sub!
    if (item instanceof Error) {
      this.detach(sub)
      sub.error(item)
    } else {
      sub.next(item)
    }
  }

  /** The stream ended for good (`errorsEnd`): EOF or `reason`. */
  private end(reason: Error | 'eof'): void {
    this.ended = reason
    // A multishot still running (a truncated record mid-stream): stop it; what it still reports is dropped.
    this.cancelReceive()
    this.hdr = null
    if (this.sub !== null) this.finish(this.sub)
    this.onEnd?.(reason === 'eof' ? null : reason)
  }

  private finish(sub: Subscriber<T>): void {
    this.sub = null
    if (this.ended instanceof Error) sub.error(this.ended)
    else sub.complete()
  }

  /** Cancels the receive in flight, if any; its final completion still comes (`ECANCELED`). */
  private cancelReceive(): void {
    if (this.armed) this.proactor.cancel(this.opId)
  }

  /** True when `res` was the pool running dry: the receive re-arms once a buffer is back. */
  private noBuffers(res: number): boolean {
    if (res !== -ENOBUFS || this.group === null) return false
    if (this.group.available > 0) this.arm()
    else if (!this.waitingForBuffer) {
      this.waitingForBuffer = true
      this.group.onRelease(this.rearm)
    }
    return true
  }

  /** Whether a pool buffer with `room` payload bytes serves this channel. */
  protected fitsPool(room: number): boolean {
    return this.capacity <= room
  }

  private arm(): void {
    if (this.armed || this.sub === null || this.stopped || this.ended !== null || this.proactor.closed) return
    if (!this.modeChosen) this.chooseMode()
    this.armed = true
    // MSG_TRUNC in the call: the reported length is the message's real length (udp(7), unix(7)).
    // MSG_CMSG_CLOEXEC: descriptors passed to us (SCM_RIGHTS) never leak into child processes.
    if (this.group !== null) {
      this.poolOp ??= { kind: 'recvmsgMultishot', fd: this.fd, msg: this.msg!, flags: MSG_TRUNC | MSG_CMSG_CLOEXEC, group: this.group }
      this.opId = this.proactor.start(this.poolOp, this)
      return
    }
    this.hdr ??= new RecvHeader(this.capacity, this.controlSpace)
    this.hdr.reset()
    this.ownOp ??= { kind: 'recvmsg', fd: this.fd, msg: this.hdr.msg, flags: MSG_TRUNC | MSG_CMSG_CLOEXEC, keep: this.hdr.keep }
    this.opId = this.proactor.start(this.ownOp, this)
  }

  /** Pool or own buffer, decided once: the pool whenever its buffers hold every message this channel accepts. */
  private chooseMode(): void {
    this.modeChosen = true
    const group = messagePool()
    if (this.fitsPool(group.size - RECVMSG_OUT.SIZE - this.nameSpace - this.controlSpace)) {
      this.group = group
      this.msg = multishotMsghdr(this.nameSpace, this.controlSpace)
    }
  }
}
