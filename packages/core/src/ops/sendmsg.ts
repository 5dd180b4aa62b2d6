/**
 * `sendmsg`: `sendmsg(fd, msg, flags)` (IORING_OP_SENDMSG).
 *
 * @packageDocumentation
 */
import * as sys from '../poll/sys.js'
import { Op } from '../uring/abi.js'
import { socketMsgSpec } from './socket-common.js'

/** Sends the message `msg` describes; completes with the bytes sent. */
export interface SendmsgOp {
  /** The op kind. */
  readonly kind: 'sendmsg'
  /** The socket. */
  fd: number
  /** A `struct msghdr` (56 bytes) whose pointers lead to memory held by {@link keep}. */
  msg: Uint8Array
  /** `MSG_*` flags. */
  flags: number
  /** What the msghdr's pointers point into (iovecs, payload, address, control data): kept alive until the completion. */
  keep: unknown
}

/** The `sendmsg` op kind. */
export const sendmsgSpec = socketMsgSpec<SendmsgOp>('sendmsg', Op.SENDMSG, sys.sendmsg)
