/**
 * The receive side of a `SeqpacketChannel`: one multishot RECVMSG
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
import { allocChunk, MessageTruncatedError, sockets, type Proactor } from '@ringio/core/transport'
import { MSG_CTRUNC, MSG_TRUNC } from './msghdr.js'
import { attachFds, decodeRights, rightsSpace } from './scm-rights.js'
import { MessageReceiver, type ReceivedMessage } from './message-receiver.js'

// cmsghdr (16) + struct ucred (12), padded: CMSG_SPACE(12).
const CRED_SPACE = 32

/**
 * The receive side: a multishot RECVMSG in flight while someone listens.
 * EOF or an error ends the stream for good (`onDone`); records that came
 * before still go to the next subscriber.
 */
export class RecordReceiver extends MessageReceiver<Buffer> {
  /**
   * @param maxFds descriptors one message may carry (SCM_RIGHTS); 0: none —
   *   the kernel then closes any that are sent (MSG_CTRUNC), and the message is delivered
   */
  constructor(
    proactor: Proactor,
    fd: number,
    capacity: number,
    private readonly maxFds: number,
    onDone: (err: Error | null) => void,
  ) {
    super(proactor, fd, capacity, 0, CRED_SPACE + rightsSpace(maxFds), { what: 'channel', errorsEnd: true, drainAfterStop: true }, onDone)
  }

  /** A record copied out (its descriptors attached), EOF, or why it cannot be delivered. */
  protected take(m: ReceivedMessage): Buffer | Error | 'eof' {
    if (m.size === 0 && m.controlLength === 0) return 'eof' // no credentials: not a record but EOF
    const fds = this.takeFds(m)
    const bad = this.check(m.size, m.flags, fds)
    if (bad !== null) return bad
    const msg = allocChunk(m.size)
    m.buf.copy(msg, 0, m.payloadOffset, m.payloadOffset + m.size)
    if (fds.length > 0) attachFds(msg, fds)
    return msg
  }

  /** After the end nothing is delivered: descriptors that came along are closed, not leaked. */
  protected override drop(m: ReceivedMessage): void {
    for (const fd of this.takeFds(m)) sockets.closeSync(fd)
  }

  /** The descriptors a record brought (only when asked for: without room the kernel installs none). */
  private takeFds(m: ReceivedMessage): number[] {
    return this.maxFds > 0 && m.controlLength > 0 ? decodeRights(m.control, m.controlOffset, m.controlLength) : []
  }

  /** Why a record cannot be delivered (its descriptors are then closed), or null. */
  private check(size: number, flags: number, fds: number[]): Error | null {
    let bad: Error | null = null
    if (size > this.capacity || (flags & MSG_TRUNC) !== 0) bad = new MessageTruncatedError(size, this.capacity)
    else if (this.maxFds > 0 && (flags & MSG_CTRUNC) !== 0) bad = new FdsTruncatedError(this.maxFds)
    if (bad !== null) for (const fd of fds) sockets.closeSync(fd)
    return bad
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
