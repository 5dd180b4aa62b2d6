/**
 * `recvmsg`: `recvmsg(fd, msg, flags)` (IORING_OP_RECVMSG).
 *
 * @packageDocumentation
 */
import * as sys from '../poll/sys.js'
import { Op } from '../uring/abi.js'
import { socketMsgSpec } from './socket-common.js'

/** Receives one message into what `msg` describes; completes with the bytes received (the msghdr gets the lengths and flags). */
export interface RecvmsgOp {
  /** The op kind. */
  readonly kind: 'recvmsg'
  /** The socket. */
  fd: number
  /** A `struct msghdr` (56 bytes) whose pointers lead to memory held by {@link keep}. */
  msg: Uint8Array
  /** `MSG_*` flags. */
  flags: number
  /** What the msghdr's pointers point into (iovecs, buffers, address and control room): kept alive until the completion. */
  keep: unknown
}

/** The `recvmsg` op kind. */
export const recvmsgSpec = socketMsgSpec<RecvmsgOp>('recvmsg', Op.RECVMSG, sys.recvmsg)
