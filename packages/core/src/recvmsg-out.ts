/**
 * Decoding the buffers a multishot RECVMSG fills ({@link Proactor.recvmsgMultishot}):
 * each starts with a `struct io_uring_recvmsg_out`, then the room reserved
 * for the source address and for control data, then the payload. Both
 * backends lay buffers out this way.
 *
 * @packageDocumentation
 */
import { RECVMSG_OUT } from './uring/abi.js'

/** Where the parts of one received message sit in its buffer (byte offsets into the view). */
export interface RecvmsgOut {
  /** Offset of the source address (`sockaddr`). */
  nameOffset: number
  /** The address's length as the kernel reported it; may exceed the room reserved (then it was cut). */
  namelen: number
  /** Offset of the control data (`cmsghdr`s). */
  controlOffset: number
  /** Bytes of control data written (0: none). */
  controllen: number
  /** Offset of the payload. */
  payloadOffset: number
  /** The message's length as recvmsg returned it: its real length with `MSG_TRUNC` in the flags. */
  payloadlen: number
  /** Payload bytes actually in the buffer (`min(payloadlen, room)`). */
  payloadBytes: number
  /** `msg_flags` of the receive (`MSG_TRUNC` when the payload did not fit, `MSG_CTRUNC`…). */
  flags: number
}

function u32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0
}

/**
 * Decodes the buffer of one multishot RECVMSG completion, as liburing's
 * `io_uring_recvmsg_validate` + `io_uring_recvmsg_*` accessors do.
 *
 * @param view the buffer's first `res` bytes (`group.view(bid, res)`)
 * @param nameSpace `msg_namelen` of the msghdr the receive was started with
 * @param controlSpace `msg_controllen` of that msghdr
 * @param out an object to fill (reuse one to allocate nothing per message)
 * @returns `out`, or null when `view` is too short to hold the header and the reserved room
 */
export function parseRecvmsgOut(view: Uint8Array, nameSpace: number, controlSpace: number, out?: RecvmsgOut): RecvmsgOut | null {
  const payloadOffset = RECVMSG_OUT.SIZE + nameSpace + controlSpace
  if (view.length < payloadOffset) return null
  const o = out ?? ({} as RecvmsgOut)
  o.nameOffset = RECVMSG_OUT.SIZE
  o.namelen = u32(view, RECVMSG_OUT.namelen)
  o.controlOffset = RECVMSG_OUT.SIZE + nameSpace
  o.controllen = u32(view, RECVMSG_OUT.controllen)
  o.payloadOffset = payloadOffset
  o.payloadlen = u32(view, RECVMSG_OUT.payloadlen)
  o.payloadBytes = view.length - payloadOffset
  o.flags = u32(view, RECVMSG_OUT.flags)
  return o
}
