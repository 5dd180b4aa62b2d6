/**
 * One non-blocking attempt at an operation, for fds that are O_NONBLOCK (or
 * calls made non-blocking per call with MSG_DONTWAIT). Called when the op is
 * first in its fd's queue: at start, then on each readiness wakeup. EAGAIN
 * means "wait for readiness and call again"; anything else is a completion,
 * posted with the flags io_uring would give it.
 *
 * @packageDocumentation
 */
import { IORING_CQE_BUFFER_SHIFT, IORING_CQE_F_BUFFER, RECVMSG_OUT } from '../uring/abi.js'
import { addressOf } from '../sys/libc.js'
import { Kind, type PollOp } from './op.js'
import { AGAIN, DONE, WAIT } from './readiness.js'
import * as sys from './sys.js'
import { EAGAIN, EINTR } from '../sys/errno.js'

/** Where an attempt posts its completions. */
export interface Sink {
  /** The final completion of `slot`. */
  finish(slot: number, res: number, flags: number): void
  /** A multishot completion (`MORE` is added). */
  more(slot: number, res: number, flags: number): void
}

const ACCEPT_FLAGS = sys.SOCK_NONBLOCK | sys.SOCK_CLOEXEC
const optVal = Buffer.alloc(4)
const optLen = Buffer.alloc(4)
const peekByte = Buffer.alloc(1)
// The msghdr and iovec of a multishot recvmsg, pointed into the picked buffer on each attempt
// (synchronous calls on one thread: one of each serves every op).
const scratchMsg = Buffer.allocUnsafeSlow(56).fill(0)
const scratchIov = Buffer.allocUnsafeSlow(16).fill(0)
const TWO32 = 2 ** 32
function writeU64(b: Buffer, value: number, at: number): void {
  b.writeUInt32LE(value % TWO32, at)
  b.writeUInt32LE(Math.floor(value / TWO32), at + 4)
}
writeU64(scratchMsg, addressOf(scratchIov), 16)
writeU64(scratchMsg, 1, 24)

/** Tries `op` once; returns WAIT, DONE or AGAIN (see readiness.ts). */
export function step(op: PollOp, sink: Sink): number {
  switch (op.kind) {
    case Kind.Accept:
      return stepAccept(op, sink)
    case Kind.Connect:
      return stepConnect(op, sink)
    case Kind.RecvMulti:
      return stepRecvMulti(op, sink)
    case Kind.RecvmsgMulti:
      return stepRecvmsgMulti(op, sink)
    default:
      return single(op, sink, attempt(op))
  }
}

function isMsgOp(kind: number): boolean {
  return kind === Kind.Recv || kind === Kind.Send || kind === Kind.Recvmsg || kind === Kind.Sendmsg
}

/** The syscall of a single-shot op, as `res` / `-errno`. */
function attempt(op: PollOp): number {
  const { fd } = op
  const buf = op.buf!
  switch (op.kind) {
    case Kind.Read:
      return sys.result(op.offset < 0 ? sys.read(fd, buf, buf.length) : sys.pread(fd, buf, buf.length, op.offset))
    case Kind.Write:
      return sys.result(op.offset < 0 ? sys.write(fd, buf, buf.length) : sys.pwrite(fd, buf, buf.length, op.offset))
    case Kind.Readv:
      return sys.result(op.offset < 0 ? sys.readv(fd, op.iov!, op.iovCount) : sys.preadv(fd, op.iov!, op.iovCount, op.offset))
    case Kind.Writev:
      return sys.result(op.offset < 0 ? sys.writev(fd, op.iov!, op.iovCount) : sys.pwritev(fd, op.iov!, op.iovCount, op.offset))
    // MSG_DONTWAIT: non-blocking for this call even on a blocking socket we did not create, with no F_SETFL.
    case Kind.Recv:
      return sys.result(sys.recv(fd, buf, buf.length, op.flags | sys.MSG_DONTWAIT))
    case Kind.Send:
      return sys.result(sys.send(fd, buf, buf.length, op.flags | sys.MSG_DONTWAIT))
    case Kind.Recvmsg:
      return sys.result(sys.recvmsg(fd, buf, op.flags | sys.MSG_DONTWAIT))
    case Kind.Sendmsg:
      return sys.result(sys.sendmsg(fd, buf, op.flags | sys.MSG_DONTWAIT))
    default:
      return -sys.EINVAL
  }
}

function single(op: PollOp, sink: Sink, res: number): number {
  // A caller's own MSG_DONTWAIT asks for EAGAIN now, as io_uring gives it, not a wait.
  if (res === -EAGAIN && !(isMsgOp(op.kind) && (op.flags & sys.MSG_DONTWAIT) !== 0)) return WAIT
  if (res === -EINTR) return AGAIN // a signal interrupted nothing we must report: just retry
  sink.finish(op.slot, res, 0)
  return DONE
}

function stepAccept(op: PollOp, sink: Sink): number {
  const res = sys.result(sys.accept4(op.fd, 0, 0, ACCEPT_FLAGS))
  if (res === -EAGAIN) return WAIT
  if (res === -EINTR) return AGAIN
  if (op.multishot && res >= 0) {
    sink.more(op.slot, res, 0)
    return AGAIN
  }
  // As io_uring's multishot accept, an error ends it (no MORE): the caller re-arms if it wants.
  sink.finish(op.slot, res, 0)
  return DONE
}

function stepConnect(op: PollOp, sink: Sink): number {
  if (op.stage === 0) {
    const buf = op.buf!
    const res = sys.result(sys.connect(op.fd, buf, buf.length))
    // EINPROGRESS: a non-blocking connect started; EAGAIN: a full unix-socket backlog; EINTR: it goes on in the kernel.
    if (res === -sys.EINPROGRESS || res === -EINTR) {
      op.stage = 1
      return WAIT
    }
    if (res === -EAGAIN) return WAIT
    sink.finish(op.slot, res, 0)
    return DONE
  }
  // Writable after EINPROGRESS: SO_ERROR holds the outcome (0 = connected).
  optLen.writeUInt32LE(4, 0)
  const r = sys.result(sys.getsockopt(op.fd, sys.SOL_SOCKET, sys.SO_ERROR, optVal, optLen))
  const soErr = optVal.readInt32LE(0)
  sink.finish(op.slot, r < 0 ? r : soErr === 0 ? 0 : -soErr, 0) // never -0: callers compare with ===/Object.is
  return DONE
}

/**
 * A multishot receive found its group dry: a 1-byte MSG_PEEK tells "no data
 * yet" (wait, as the kernel's armed poll would) from "data and nowhere to put
 * it" (-ENOBUFS, end: nothing read, nothing lost). On a stream a 0-byte peek
 * is EOF (`zeroIsEof`); on a message socket it is an empty message waiting.
 */
function dryGroup(op: PollOp, sink: Sink, zeroIsEof: boolean): number {
  const peek = sys.result(sys.recv(op.fd, peekByte, 1, sys.MSG_PEEK | sys.MSG_DONTWAIT))
  if (peek === -EAGAIN) return WAIT
  if (peek === -EINTR) return AGAIN
  if (peek === 0 && zeroIsEof) sink.finish(op.slot, 0, 0)
  else sink.finish(op.slot, peek < 0 ? peek : -sys.ENOBUFS, 0)
  return DONE
}

/**
 * Multishot receive into the group. With the group dry, a 1-byte MSG_PEEK
 * tells "no data yet" (wait, as the kernel's armed poll would) from "data and
 * nowhere to put it" (-ENOBUFS, end: nothing read, nothing lost).
 */
function stepRecvMulti(op: PollOp, sink: Sink): number {
  const g = op.group!
  const bid = g.take()
  if (bid < 0) return dryGroup(op, sink, true)
  const n = sys.result(sys.recvAt(op.fd, g.addressOf(bid), g.size, sys.MSG_DONTWAIT))
  if (n > 0) {
    sink.more(op.slot, n, IORING_CQE_F_BUFFER | (bid << IORING_CQE_BUFFER_SHIFT))
    return AGAIN
  }
  g.putBack(bid) // EOF, EAGAIN or error: the buffer received nothing
  if (n === -EAGAIN) return WAIT
  if (n === -EINTR) return AGAIN
  sink.finish(op.slot, n, 0) // 0 (EOF) or -errno, no BUFFER, no MORE
  return DONE
}

/**
 * Multishot recvmsg into the group, laid out as the kernel does it:
 * `io_uring_recvmsg_out`, the reserved name and control room, then the
 * payload. With the group dry, a 1-byte MSG_PEEK tells "nothing yet" (wait)
 * from "something and nowhere to put it" (-ENOBUFS, end: nothing lost). As
 * the kernel, an empty payload (0-byte message, or EOF) ends the multishot
 * after its completion.
 */
function stepRecvmsgMulti(op: PollOp, sink: Sink): number {
  const g = op.group!
  const bid = g.take()
  if (bid < 0) return dryGroup(op, sink, false)
  const head = RECVMSG_OUT.SIZE + op.nameSpace + op.controlSpace
  const room = g.size - head
  if (room < 0) {
    g.putBack(bid)
    sink.finish(op.slot, -sys.EFAULT, 0) // as the kernel: a buffer too small for the header
    return DONE
  }
  const base = g.addressOf(bid)
  writeU64(scratchMsg, op.nameSpace > 0 ? base + RECVMSG_OUT.SIZE : 0, 0)
  scratchMsg.writeUInt32LE(op.nameSpace, 8)
  writeU64(scratchIov, base + head, 0)
  writeU64(scratchIov, room, 8)
  writeU64(scratchMsg, op.controlSpace > 0 ? base + RECVMSG_OUT.SIZE + op.nameSpace : 0, 32)
  writeU64(scratchMsg, op.controlSpace, 40)
  scratchMsg.writeUInt32LE(0, 48)
  const n = sys.result(sys.recvmsg(op.fd, scratchMsg, op.flags | sys.MSG_DONTWAIT))
  if (n < 0) {
    g.putBack(bid)
    if (n === -EAGAIN) return WAIT
    if (n === -EINTR) return AGAIN
    sink.finish(op.slot, n, 0) // -errno, no BUFFER, no MORE
    return DONE
  }
  const mem = g.memory
  const at = bid * g.size
  mem.writeUInt32LE(op.nameSpace > 0 ? scratchMsg.readUInt32LE(8) : 0, at + RECVMSG_OUT.namelen)
  mem.writeUInt32LE(op.controlSpace > 0 ? scratchMsg.readUInt32LE(40) : 0, at + RECVMSG_OUT.controllen)
  mem.writeUInt32LE(n, at + RECVMSG_OUT.payloadlen)
  mem.writeUInt32LE(scratchMsg.readUInt32LE(48), at + RECVMSG_OUT.flags)
  const res = head + (n < room ? n : room)
  const flags = IORING_CQE_F_BUFFER | (bid << IORING_CQE_BUFFER_SHIFT)
  if (n === 0) {
    sink.finish(op.slot, res, flags)
    return DONE
  }
  sink.more(op.slot, res, flags)
  return AGAIN
}
