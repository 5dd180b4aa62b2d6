/**
 * What the UDP and SEQPACKET receivers share: one RECVMSG in flight while
 * someone listens — multishot from the shared message pool when a pool buffer
 * holds the channel's largest message, else one at a time into a header of the
 * channel's own — and the re-arm after the pool ran dry (ENOBUFS: the messages
 * wait in the socket, nothing is lost).
 *
 * @packageDocumentation
 */
import type { Subscriber } from 'rxjs'
import { RECVMSG_OUT, type BufferGroup, type Completion, type OpId, type Proactor, type RecvmsgOut } from '@ringio/core'
import { MSG_TRUNC, multishotMsghdr, RecvHeader } from './msghdr.js'
import { messagePool } from './read-pool.js'
import { MSG_CMSG_CLOEXEC } from './scm-rights.js'

const ENOBUFS = 105

/** The receive mechanics of a message channel; subclasses turn completions into messages. */
export abstract class MessageReceiver<T> implements Completion {
  protected sub: Subscriber<T> | null = null
  /** Multishot mode: the shared pool; null in the one-at-a-time fallback (or before the first arm). */
  protected group: BufferGroup | null = null
  /** Reused by `parseRecvmsgOut` for every pooled completion. */
  protected readonly out: RecvmsgOut = {} as RecvmsgOut
  /** Fallback mode: the channel's own receive header. */
  protected hdr: RecvHeader | null = null
  protected armed = false
  protected stopped = false
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
   */
  constructor(
    protected readonly proactor: Proactor,
    protected readonly fd: number,
    protected readonly capacity: number,
    protected readonly nameSpace: number,
    protected readonly controlSpace: number,
  ) {}

  abstract complete(res: number, flags: number): void

  /** Detaches `sub` and cancels the receive in the kernel (what still completes goes to the backlog). */
  detach(sub: Subscriber<T>): void {
    if (this.sub !== sub) return
    this.sub = null
    this.cancelReceive()
  }

  /** Cancels the receive in flight, if any; its final completion still comes (`ECANCELED`). */
  protected cancelReceive(): void {
    if (this.armed) this.proactor.cancel(this.opId)
  }

  /** True when `res` was the pool running dry: the receive re-arms once a buffer is back. */
  protected noBuffers(res: number): boolean {
    if (res !== -ENOBUFS || this.group === null) return false
    if (this.group.available > 0) this.arm()
    else if (!this.waitingForBuffer) {
      this.waitingForBuffer = true
      this.group.onRelease(this.rearm)
    }
    return true
  }

  /** Whether a receive may be armed now; subclasses add their own end states. */
  protected canArm(): boolean {
    return !this.armed && this.sub !== null && !this.stopped && !this.proactor.closed
  }

  /** Whether a pool buffer with `room` payload bytes serves this channel. */
  protected fitsPool(room: number): boolean {
    return this.capacity <= room
  }

  protected arm(): void {
    if (!this.canArm()) return
    if (!this.modeChosen) this.chooseMode()
    this.armed = true
    // MSG_TRUNC in the call: the reported length is the message's real length (udp(7), unix(7)).
    // MSG_CMSG_CLOEXEC: descriptors passed to us (SCM_RIGHTS) never leak into child processes.
    if (this.group !== null) {
      this.opId = this.proactor.recvmsgMultishot(this.fd, this.msg!, MSG_TRUNC | MSG_CMSG_CLOEXEC, this.group, this)
      return
    }
    this.hdr ??= new RecvHeader(this.capacity, this.controlSpace)
    this.hdr.reset()
    this.opId = this.proactor.recvmsg(this.fd, this.hdr.msg, MSG_TRUNC | MSG_CMSG_CLOEXEC, this.hdr.keep, this)
  }

  private chooseMode(): void {
    this.modeChosen = true
    const group = messagePool()
    if (this.fitsPool(group.size - RECVMSG_OUT.SIZE - this.nameSpace - this.controlSpace)) {
      this.group = group
      this.msg = multishotMsghdr(this.nameSpace, this.controlSpace)
    }
  }
}
