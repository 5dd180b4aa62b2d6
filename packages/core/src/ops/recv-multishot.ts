/**
 * `recvMultishot`: receives into buffers picked from a shared group as data
 * arrives (IORING_OP_RECV with `IOSQE_BUFFER_SELECT`).
 *
 * @packageDocumentation
 */
import type { BufferGroup } from '../buffer-group.js'
import { AGAIN, DONE, WAIT, type Sink } from '../poll/attempt.js'
import * as sys from '../poll/sys.js'
import { EAGAIN, EINTR } from '../sys/errno.js'
import { IORING_CQE_BUFFER_SHIFT, IORING_CQE_F_BUFFER, IORING_RECVSEND_POLL_FIRST, IOSQE_BUFFER_SELECT, Op } from '../uring/abi.js'
import { prepRw, setBufGroup, setFlags } from '../uring/prep.js'
import { PollRoute, type OpSpec, type PollRecord } from './op-spec.js'

/**
 * Receives into buffers picked from `group` as data arrives. Each completion
 * carries `BUFFER` and the buffer id; `res` 0 is EOF. `-ENOBUFS` (no `MORE`)
 * means the group ran dry: nothing was lost, re-arm after a release. A
 * backend may end the receive after any completion (no `MORE`), and callers
 * re-arm: io_uring issues it single-shot, for a kernel bug that loses a
 * multishot receive's wakeup (below).
 */
export interface RecvMultishotOp {
  /** The op kind. */
  readonly kind: 'recvMultishot'
  /** The socket. */
  fd: number
  /** A live group of the same proactor. */
  group: BufferGroup
}

const peekByte = Buffer.alloc(1)
/** Dry-group waits in a row before a receive ends with ENOBUFS (see {@link dryGroup}). */
const DRY_TRIES = 8

/** A buffer of the record's group for the next receive, or -1 when it is dry ({@link dryGroup}); a take ends a run of dry waits. */
export function takeBuffer(rec: PollRecord): number {
  const bid = rec.group!.take()
  if (bid >= 0) rec.stage = 0
  return bid
}

/**
 * A buffer-select receive found its group dry: a 1-byte MSG_PEEK tells "no
 * data yet" (wait, as the kernel's armed poll would) from "data and nowhere
 * to put it" (-ENOBUFS, end: nothing read, nothing lost). On a stream a
 * 0-byte peek is EOF (`zeroIsEof`); on a message socket it is an empty
 * message waiting.
 */
export function dryGroup(fd: number, rec: PollRecord, sink: Sink, zeroIsEof: boolean): number {
  // Completions not yet delivered hold buffers their consumers give back at
  // once (a data$ chunk is copied out and released). With 10 000 readable
  // sockets in one epoll batch the 1024 buffers ran out long before the
  // once-a-turn delivery, and ending each receive with ENOBUFS cost a peek, a
  // cancel, a re-arm and a watcher restart per socket: the poll backend ran
  // at a quarter of node:net (issue 18). So the runner delivers before the
  // next fd event, and this receive waits: the poll is level-triggered and
  // reports the socket again. Bounded: buffers held for long (lent chunks)
  // end it with ENOBUFS after a few tries, as before.
  if (rec.stage < DRY_TRIES && sink.starve()) {
    rec.stage++
    return WAIT
  }
  rec.stage = 0
  const peek = sys.result(sys.recv(fd, peekByte, 1, sys.MSG_PEEK | sys.MSG_DONTWAIT))
  if (peek === -EAGAIN) return WAIT
  if (peek === -EINTR) return AGAIN
  if (peek === 0 && zeroIsEof) sink.finish(rec.slot, 0, 0)
  else sink.finish(rec.slot, peek < 0 ? peek : -sys.ENOBUFS, 0)
  return DONE
}

/** The `recvMultishot` op kind. */
export const recvMultishotSpec: OpSpec<RecvMultishotOp> = {
  kind: 'recvMultishot',
  opcode: Op.RECV,
  errorName: 'recv',
  /**
   * Issued as a single-shot buffer-select RECV: the contract lets a backend
   * end the receive after any completion (no `MORE`), and callers re-arm.
   *
   * Why not `IORING_RECV_MULTISHOT` (kernel behaviour, seen on 6.18.44): on a
   * stream socket with a slow reader the multishot runs long streaks of
   * completions flagged `SOCK_NONEMPTY`, requeued every 32 loops
   * (`IOU_REQUEUE`); each retry raises the request's poll refs, which then
   * pass `IO_POLL_REF_BIAS`, after which a wakeup only sets
   * `IO_POLL_RETRY_FLAG`. A segment that lands while the streak's last recv
   * finds the socket empty is then never noticed; if it fills the receive
   * buffer no later wakeup comes and both ends wait forever
   * (packages/net/test/stall.test.ts reproduces it in seconds). A
   * single-shot RECV arms a fresh one-shot poll each time and never
   * accumulates refs, so it cannot lose the wakeup. Re-signalling readiness
   * with `setsockopt(SO_RCVLOWAT)` after a drained completion was measured
   * too (it made the stall test pass) but misses a wakeup lost after a recv
   * that found nothing and posted no completion: it is not robust.
   * The cost, one SQE per received chunk, goes into the same enter as the
   * rest of the turn's SQEs (bench/results, issue 12's note).
   */
  uring(op, u, w) {
    const drained = u.bufferSelect(op.group, 'recvMultishot')
    prepRw(u.sqe32, w, Op.RECV, op.fd, 0, 0, 0)
    // The last receive emptied the socket: arm the poll at once instead of a
    // recv that would find nothing (a hint only: ready data is seen either way).
    setFlags(u.sqe32, w, IOSQE_BUFFER_SELECT, drained ? IORING_RECVSEND_POLL_FIRST : 0)
    setBufGroup(u.sqe32, w, op.group.id)
    return undefined
  },
  poll: {
    route: PollRoute.Socket,
    dir: 'read',
    start(op, rec, ctx) {
      rec.group = ctx.group(op.group)
      rec.multishot = true
    },
    step(op, rec, sink) {
      const g = rec.group!
      const bid = takeBuffer(rec)
      if (bid < 0) return dryGroup(op.fd, rec, sink, true)
      const n = sys.result(sys.recvAt(op.fd, g.addressOf(bid), g.size, sys.MSG_DONTWAIT))
      if (n > 0) {
        sink.more(rec.slot, n, IORING_CQE_F_BUFFER | (bid << IORING_CQE_BUFFER_SHIFT))
        // A stream recv that did not fill the buffer emptied the socket (libuv's
        // uv__read stops there too): trying again would cost a koffi call and an
        // EAGAIN per message. The poll is level-triggered, so data landing
        // meanwhile (or the EOF behind it) wakes the op again.
        return n < g.size ? WAIT : AGAIN
      }
      g.putBack(bid) // EOF, EAGAIN or error: the buffer received nothing
      if (n === -EAGAIN) return WAIT
      if (n === -EINTR) return AGAIN
      sink.finish(rec.slot, n, 0) // 0 (EOF) or -errno, no BUFFER, no MORE
      return DONE
    },
  },
  handle: (op) => op.fd,
}
