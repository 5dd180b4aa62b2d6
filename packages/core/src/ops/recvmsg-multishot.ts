/**
 * `recvmsgMultishot`: one message per buffer picked from a shared group, in
 * the kernel's `io_uring_recvmsg_out` layout (IORING_OP_RECVMSG with
 * `IORING_RECV_MULTISHOT` and `IOSQE_BUFFER_SELECT`).
 *
 * @packageDocumentation
 */
import type { BufferGroup } from '../buffer-group.js'
import { checkBytes } from '../errors.js'
import { AGAIN, DONE, WAIT } from '../poll/attempt.js'
import * as sys from '../poll/sys.js'
import { EAGAIN, EINTR } from '../sys/errno.js'
import { addressOf } from '../sys/libc.js'
import { IORING_CQE_BUFFER_SHIFT, IORING_CQE_F_BUFFER, IORING_RECV_MULTISHOT, IOSQE_BUFFER_SELECT, Op, RECVMSG_OUT } from '../uring/abi.js'
import { prepRw, setBufGroup, setFlags, setOpFlags } from '../uring/prep.js'
import { PollRoute, type OpSpec } from './op-spec.js'
import { dryGroup, takeBuffer } from './recv-multishot.js'

/**
 * Multishot `recvmsg` into buffers picked from `group` as messages arrive:
 * one completion per message, carrying `BUFFER` and the buffer id; `res` is
 * the bytes used in the buffer. Each buffer holds a `struct
 * io_uring_recvmsg_out` (16 bytes), then `msg_namelen` bytes of room for the
 * source address, `msg_controllen` bytes for control data, then the payload,
 * cut to what is left of the buffer: decode it with `parseRecvmsgOut`.
 *
 * The receive ends (no `MORE`) on an error, on `-ENOBUFS` (the group ran dry:
 * nothing was lost, re-arm after a release), and — as the kernel does — after
 * a message whose payload is empty (a 0-byte datagram, or EOF on a
 * connection-oriented socket): re-arm to go on.
 */
export interface RecvmsgMultishotOp {
  /** The op kind. */
  readonly kind: 'recvmsgMultishot'
  /** The socket. */
  fd: number
  /**
   * A `struct msghdr` (56 bytes) whose only meaningful fields are
   * `msg_namelen` and `msg_controllen` (the room to reserve; pointers 0,
   * `msg_iovlen` 0). The kernel reads it for each message.
   */
  msg: Uint8Array
  /** recvmsg flags: with `MSG_TRUNC` the header's `payloadlen` is the message's real length. */
  flags: number
  /** A live group of the same proactor. */
  group: BufferGroup
}

// The msghdr and iovec of the poll form, pointed into the picked buffer on each attempt
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

/** The `recvmsgMultishot` op kind. */
export const recvmsgMultishotSpec: OpSpec<RecvmsgMultishotOp> = {
  kind: 'recvmsgMultishot',
  opcode: Op.RECVMSG,
  errorName: 'recvmsg',
  check(op) {
    checkBytes('msg', op.msg)
    if (op.msg.length < 56) throw new RangeError('msg must be a struct msghdr (56 bytes)')
  },
  uring(op, u, w) {
    u.bufferSelect(op.group, 'recvmsgMultishot')
    // As liburing's io_uring_prep_recvmsg_multishot: RECVMSG, ioprio |= IORING_RECV_MULTISHOT.
    prepRw(u.sqe32, w, Op.RECVMSG, op.fd, addressOf(op.msg), 1, 0)
    setOpFlags(u.sqe32, w, op.flags)
    setFlags(u.sqe32, w, IOSQE_BUFFER_SELECT, IORING_RECV_MULTISHOT)
    setBufGroup(u.sqe32, w, op.group.id)
    return op
  },
  poll: {
    route: PollRoute.Socket,
    dir: 'read',
    start(op, rec, ctx) {
      rec.group = ctx.group(op.group)
      rec.multishot = true
      // As the kernel, the room to reserve comes from the msghdr: msg_namelen (u32 at 8), msg_controllen (size_t at 40).
      const dv = new DataView(op.msg.buffer, op.msg.byteOffset, op.msg.byteLength)
      rec.nameSpace = dv.getUint32(8, true)
      rec.controlSpace = dv.getUint32(40, true)
    },
    /**
     * Laid out as the kernel does it: `io_uring_recvmsg_out`, the reserved
     * name and control room, then the payload. As the kernel, an empty
     * payload (0-byte message, or EOF) ends the multishot after its completion.
     */
    step(op, rec, sink) {
      const g = rec.group!
      const bid = takeBuffer(rec)
      if (bid < 0) return dryGroup(op.fd, rec, sink, false)
      const head = RECVMSG_OUT.SIZE + rec.nameSpace + rec.controlSpace
      const room = g.size - head
      if (room < 0) {
        g.putBack(bid)
        sink.finish(rec.slot, -sys.EFAULT, 0) // as the kernel: a buffer too small for the header
        return DONE
      }
      const base = g.addressOf(bid)
      writeU64(scratchMsg, rec.nameSpace > 0 ? base + RECVMSG_OUT.SIZE : 0, 0)
      scratchMsg.writeUInt32LE(rec.nameSpace, 8)
      writeU64(scratchIov, base + head, 0)
      writeU64(scratchIov, room, 8)
      writeU64(scratchMsg, rec.controlSpace > 0 ? base + RECVMSG_OUT.SIZE + rec.nameSpace : 0, 32)
      writeU64(scratchMsg, rec.controlSpace, 40)
      scratchMsg.writeUInt32LE(0, 48)
      const n = sys.result(sys.recvmsg(op.fd, scratchMsg, op.flags | sys.MSG_DONTWAIT))
      if (n < 0) {
        g.putBack(bid)
        if (n === -EAGAIN) return WAIT
        if (n === -EINTR) return AGAIN
        sink.finish(rec.slot, n, 0) // -errno, no BUFFER, no MORE
        return DONE
      }
      const mem = g.memory
      const at = bid * g.size
      mem.writeUInt32LE(rec.nameSpace > 0 ? scratchMsg.readUInt32LE(8) : 0, at + RECVMSG_OUT.namelen)
      mem.writeUInt32LE(rec.controlSpace > 0 ? scratchMsg.readUInt32LE(40) : 0, at + RECVMSG_OUT.controllen)
      mem.writeUInt32LE(n, at + RECVMSG_OUT.payloadlen)
      mem.writeUInt32LE(scratchMsg.readUInt32LE(48), at + RECVMSG_OUT.flags)
      const res = head + (n < room ? n : room)
      const flags = IORING_CQE_F_BUFFER | (bid << IORING_CQE_BUFFER_SHIFT)
      if (n === 0) {
        sink.finish(rec.slot, res, flags)
        return DONE
      }
      sink.more(rec.slot, res, flags)
      return AGAIN
    },
  },
  handle: (op) => op.fd,
}
