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
  sockets,
  type Proactor,
} from '@ringio/core'
import { MSG_CTRUNC, MSG_TRUNC } from './msghdr.js'
import { attachFds, decodeRights, rightsSpace } from './scm-rights.js'
import { MessageReceiver } from './message-receiver.js'
import type { SeqpacketChannel } from './seqpacket.js'

// cmsghdr (16) + struct ucred (12), padded: CMSG_SPACE(12).
const CRED_SPACE = 32

/** The receive side: a multishot RECVMSG in flight while someone listens. */
export class RecordReceiver extends MessageReceiver<Buffer> {
  private done: Error | 'eof' | null = null
  private readonly backlog: Buffer[] = []

  /**
   * @param maxFds descriptors one message may carry (SCM_RIGHTS); 0: none —
   *   the kernel then closes any that are sent (MSG_CTRUNC), and the message is delivered
   */
  constructor(
    proactor: Proactor,
    fd: number,
    capacity: number,
    private readonly maxFds: number,
    private readonly onDone: (err: Error | null) => void,
  ) {
    super(proactor, fd, capacity, 0, CRED_SPACE + rightsSpace(maxFds))
  }

  attach(sub: Subscriber<Buffer>): void {
    if (this.sub !== null) throw new Error('ringio: this channel already has a subscriber (subscribe to messages$ once)')
    this.sub = sub
    while (this.backlog.length > 0 && this.sub === sub) sub.next(this.backlog.shift()!)
    if (this.sub !== sub) return
    if (this.done !== null || this.stopped) this.finish(sub)
    else this.arm()
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
    if (this.noBuffers(res)) return
    if (res < 0) return this.end(new IoError(-res, 'recvmsg', this.fd))
    const hdr = this.hdr!
    if (res === 0 && hdr.controlLength === 0) return this.end('eof') // no credentials: not a record but EOF
    const fds = this.takeFds(hdr.control, 0, hdr.controlLength)
    const bad = this.check(res, hdr.flags, fds)
    if (bad !== null) return this.end(bad)
    const msg = allocChunk(res)
    hdr.data.copy(msg, 0, 0, res)
    if (fds.length > 0) attachFds(msg, fds)
    this.deliver(msg)
  }

  /** A record (or EOF) in pool buffer `bid`: copied out, the buffer released at once. */
  private pooled(bid: number, res: number): void {
    const group = this.group!
    if (this.done !== null) {
      // After the end nothing is delivered: descriptors that came along are closed, not leaked.
      const out = parseRecvmsgOut(group.view(bid, res), 0, this.controlSpace, this.out)
      if (out !== null) for (const fd of this.takeFds(group.view(bid, res), out.controlOffset, out.controllen)) sockets.closeSync(fd)
      group.release(bid)
      return
    }
    const view = group.view(bid, res)
    const out = parseRecvmsgOut(view, 0, this.controlSpace, this.out)
    if (out === null) {
      group.release(bid)
      return this.end(new IoError(14 /* EFAULT */, 'recvmsg', this.fd))
    }
    const size = out.payloadlen
    if (size === 0 && out.controllen === 0) {
      group.release(bid)
      return this.end('eof') // no credentials: not a record but EOF
    }
    const fds = this.takeFds(view, out.controlOffset, out.controllen)
    const bad = this.check(size, out.flags, fds)
    if (bad !== null) {
      group.release(bid)
      return this.end(bad)
    }
    const msg = allocChunk(size)
    view.copy(msg, 0, out.payloadOffset, out.payloadOffset + size)
    group.release(bid)
    if (fds.length > 0) attachFds(msg, fds)
    this.deliver(msg)
  }

  /** The descriptors a record brought (only when asked for: without room the kernel installs none). */
  private takeFds(control: Uint8Array, at: number, len: number): number[] {
    return this.maxFds > 0 && len > 0 ? decodeRights(control, at, len) : []
  }

  /** Why a record cannot be delivered (its descriptors are then closed), or null. */
  private check(size: number, flags: number, fds: number[]): Error | null {
    let bad: Error | null = null
    if (size > this.capacity || (flags & MSG_TRUNC) !== 0) bad = new MessageTruncatedError(size, this.capacity)
    else if (this.maxFds > 0 && (flags & MSG_CTRUNC) !== 0) bad = new FdsTruncatedError(this.maxFds)
    if (bad !== null) for (const fd of fds) sockets.closeSync(fd)
    return bad
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
    this.cancelReceive()
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
  protected override canArm(): boolean {
    return this.done === null && super.canArm()
  }
}

/**
 * A message on a channel opened with `maxFds` carried more descriptors than
 * that (the kernel set MSG_CTRUNC and closed the ones that did not fit; the
 * ones that did were closed too). The channel errors and closes: the protocol
 * is broken, and a message must never arrive silently missing descriptors.
 */
export class FdsTruncatedError extends Error {
  constructor(
    /** The channel's `maxFds`, which the message exceeded. */
    readonly maxFds: number,
  ) {
    super(`a message carried more than maxFds (${maxFds}) descriptors; raise maxFds`)
    this.name = 'FdsTruncatedError'
  }
}
