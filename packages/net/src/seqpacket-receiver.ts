/**
 * The receive side of a {@link SeqpacketChannel}: one RECVMSG in flight while
 * `messages$` has a subscriber, records told apart from EOF by their
 * SCM_CREDENTIALS (see `seqpacket.ts`), and a backlog for what arrives
 * between subscribers.
 *
 * @packageDocumentation
 */
import type { Subscriber } from 'rxjs'
import { allocChunk, ECANCELED, IoError, MessageTruncatedError, type Completion, type OpId, type Proactor } from '@ringio/core'
import { MSG_TRUNC, RecvHeader } from './msghdr.js'
import type { SeqpacketChannel } from './seqpacket.js'

// cmsghdr (16) + struct ucred (12), padded: CMSG_SPACE(12).
const CRED_SPACE = 32

/** The receive side: one RECVMSG in flight while someone listens. */
export class RecordReceiver implements Completion {
  private sub: Subscriber<Buffer> | null = null
  private hdr: RecvHeader | null = null
  private armed = false
  private opId: OpId = -1
  private done: Error | 'eof' | null = null
  private stopped = false
  private readonly backlog: Buffer[] = []

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

  complete(res: number): void {
    this.armed = false
    const hdr = this.hdr!
    if (res === -ECANCELED) {
      if (this.stopped) this.hdr = null
      else this.arm()
      return
    }
    if (res < 0) return this.end(new IoError(-res, 'recvmsg', this.fd))
    if (res === 0 && hdr.controlLength === 0) return this.end('eof') // no credentials: not a record but EOF
    if ((hdr.flags & MSG_TRUNC) !== 0) return this.end(new MessageTruncatedError(res, this.capacity))
    const msg = allocChunk(res)
    hdr.data.copy(msg, 0, 0, res)
    if (this.sub !== null) this.sub.next(msg)
    else this.backlog.push(msg)
    if (this.stopped) this.hdr = null
    else this.arm()
  }

  private end(reason: Error | 'eof'): void {
    this.done = reason
    this.hdr = null
    if (this.sub !== null) this.finish(this.sub)
    this.onDone(reason === 'eof' ? null : reason)
  }

  private finish(sub: Subscriber<Buffer>): void {
    this.sub = null
    if (this.done === null || this.done === 'eof') sub.complete()
    else sub.error(this.done)
  }

  private arm(): void {
    if (this.armed || this.sub === null || this.done !== null || this.stopped || this.proactor.closed) return
    this.hdr ??= new RecvHeader(this.capacity, CRED_SPACE)
    this.hdr.reset()
    this.armed = true
    // MSG_TRUNC in the call: the result is the record's real length (unix(7)).
    this.opId = this.proactor.recvmsg(this.fd, this.hdr.msg, MSG_TRUNC, this.hdr.keep, this)
  }
}
