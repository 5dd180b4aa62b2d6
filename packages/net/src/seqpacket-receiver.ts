/**
 * The receive side of a {@link SeqpacketChannel}: one multishot RECVMSG
 * drawing buffers from the shared message pool while `messages$` has a
 * subscriber (no receive buffer per channel), records told apart from EOF by
 * their SCM_CREDENTIALS (see `seqpacket.ts`), and a backlog for what arrives
 * between subscribers.
 *
 * A channel whose `maxMessage` is beyond what a pool buffer holds falls back
 * to one RECVMSG at a time into a buffer of its own.
 *
 * @packageDocumentation
 */
import type { Subscriber } from 'rxjs'
import {
  allocChunk,
  ECANCELED,
  IoError,
  IORING_CQE_BUFFER_SHIFT,
  IORING_CQE_F_BUFFER,
  IORING_CQE_F_MORE,
  MessageTruncatedError,
  parseRecvmsgOut,
  type BufferGroup,
  type Completion,
  type OpId,
  type Proactor,
  type RecvmsgOut,
} from '@ringio/core'
import { MSG_TRUNC, multishotMsghdr, RecvHeader } from './msghdr.js'
import { messagePool } from './read-pool.js'
import type { SeqpacketChannel } from './seqpacket.js'

// cmsghdr (16) + struct ucred (12), padded: CMSG_SPACE(12).
const CRED_SPACE = 32
const ENOBUFS = 105

/** The receive side: a multishot RECVMSG in flight while someone listens. */
export class RecordReceiver implements Completion {
  private sub: Subscriber<Buffer> | null = null
  /** Multishot mode: the shared pool; null in the one-at-a-time fallback (or before the first arm). */
  private group: BufferGroup | null = null
  private msg: Buffer | null = null
  private readonly out: RecvmsgOut = {} as RecvmsgOut
  /** Fallback mode: the channel's own receive header. */
  private hdr: RecvHeader | null = null
  private modeChosen = false
  private armed = false
  private waitingForBuffer = false
  private opId: OpId = -1
  private done: Error | 'eof' | null = null
  private stopped = false
  private readonly backlog: Buffer[] = []
  private readonly rearm = (): void => {
    this.waitingForBuffer = false
    this.arm()
  }

  constructor(
    private readonly proactor: Proactor,
    private readonly fd: number,
    private readonly capacity: number,
    private readonly onDone: (err: Error | null) => void,
  ) {}

  attach(sub: Subscriber<Buffer>): void {
    if (this.sub !== null) throw new Error('ringio: this channel already has a subscriber (subscribe to messages$ once)')
    this.sub = sub
    while (this.backlog.length > 0 && this.sub === sub) sub.next(this.backlog.shift()!)
    if (this.sub !== sub) return
    if (this.done !== null || this.stopped) this.finish(sub)
    else this.arm()
  }

  detach(sub: Subscriber<Buffer>): void {
    if (this.sub !== sub) return
    this.sub = null
    if (this.armed) this.proactor.cancel(this.opId)
  }

  stop(): void {
    this.stopped = true
    const sub = this.sub
    if (sub !== null) {
      this.detach(sub)
      this.finish(sub)
    }
    if (!this.armed) this.hdr = null
  }

  complete(res: number, flags: number): void {
    if ((flags & IORING_CQE_F_MORE) === 0) this.armed = false
    if ((flags & IORING_CQE_F_BUFFER) !== 0) return this.pooled(flags >>> IORING_CQE_BUFFER_SHIFT, res)
    if (res === -ECANCELED) {
      if (this.stopped) this.hdr = null
      else this.arm()
      return
    }
    if (this.done !== null) return // what a cancelled multishot still reported after the end
    if (res === -ENOBUFS && this.group !== null) {
      // The pool ran dry; the records wait in the socket. Resume when a buffer comes back.
      if (this.group.available > 0) this.arm()
      else if (!this.waitingForBuffer) {
        this.waitingForBuffer = true
        this.group.onRelease(this.rearm)
      }
      return
    }
    if (res < 0) return this.end(new IoError(-res, 'recvmsg', this.fd))
    const hdr = this.hdr!
    if (res === 0 && hdr.controlLength === 0) return this.end('eof') // no credentials: not a record but EOF
    if ((hdr.flags & MSG_TRUNC) !== 0) return this.end(new MessageTruncatedError(res, this.capacity))
    const msg = allocChunk(res)
    hdr.data.copy(msg, 0, 0, res)
    this.deliver(msg)
  }

  /** A record (or EOF) in pool buffer `bid`: copied out, the buffer released at once. */
  private pooled(bid: number, res: number): void {
    const group = this.group!
    if (this.done !== null) {
      group.release(bid)
      return
    }
    const view = group.view(bid, res)
    const out = parseRecvmsgOut(view, 0, CRED_SPACE, this.out)
    if (out === null) {
      group.release(bid)
      return this.end(new IoError(14 /* EFAULT */, 'recvmsg', this.fd))
    }
    const size = out.payloadlen
    if (size === 0 && out.controllen === 0) {
      group.release(bid)
      return this.end('eof') // no credentials: not a record but EOF
    }
    if (size > this.capacity || (out.flags & MSG_TRUNC) !== 0) {
      group.release(bid)
      return this.end(new MessageTruncatedError(size, this.capacity))
    }
    const msg = allocChunk(size)
    view.copy(msg, 0, out.payloadOffset, out.payloadOffset + size)
    group.release(bid)
    this.deliver(msg)
  }

  private deliver(msg: Buffer): void {
    if (this.sub !== null) this.sub.next(msg)
    else this.backlog.push(msg)
    if (this.stopped) this.hdr = null
    else this.arm()
  }

  private end(reason: Error | 'eof'): void {
    this.done = reason
    // A multishot still running (a truncated record mid-stream): stop it; what it still reports is dropped.
    if (this.armed) this.proactor.cancel(this.opId)
    this.hdr = null
    if (this.sub !== null) this.finish(this.sub)
    this.onDone(reason === 'eof' ? null : reason)
  }

  private finish(sub: Subscriber<Buffer>): void {
    this.sub = null
    if (this.done === null || this.done === 'eof') sub.complete()
    else sub.error(this.done)
  }

  /** Pool or own buffer, decided once: the pool whenever its buffers hold a whole `maxMessage` record. */
  private chooseMode(): void {
    this.modeChosen = true
    const group = messagePool()
    if (this.capacity <= group.size - 16 - CRED_SPACE) {
      this.group = group
      this.msg = multishotMsghdr(0, CRED_SPACE)
    }
  }

  private arm(): void {
    if (this.armed || this.sub === null || this.done !== null || this.stopped || this.proactor.closed) return
    if (!this.modeChosen) this.chooseMode()
    this.armed = true
    // MSG_TRUNC in the call: the reported length is the record's real length (unix(7)).
    if (this.group !== null) {
      this.opId = this.proactor.recvmsgMultishot(this.fd, this.msg!, MSG_TRUNC, this.group, this)
      return
    }
    this.hdr ??= new RecvHeader(this.capacity, CRED_SPACE)
    this.hdr.reset()
    this.opId = this.proactor.recvmsg(this.fd, this.hdr.msg, MSG_TRUNC, this.hdr.keep, this)
  }
}
