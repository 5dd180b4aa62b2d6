/**
 * `send`: `send(fd, buf, flags)` (IORING_OP_SEND).
 *
 * @packageDocumentation
 */
import * as sys from '../poll/sys.js'
import { Op } from '../uring/abi.js'
import { socketBufSpec } from './socket-common.js'

/** Sends `buf`; completes with the bytes sent (maybe fewer: the caller resumes from the byte after). */
export interface SendOp {
  /** The op kind. */
  readonly kind: 'send'
  /** The socket. */
  fd: number
  /** The bytes to send. */
  buf: Uint8Array
  /** `MSG_*` flags (`MSG_NOSIGNAL`: EPIPE without SIGPIPE); with `MSG_DONTWAIT` a full socket completes with `-EAGAIN`. */
  flags: number
}

/** The `send` op kind. */
export const sendSpec = socketBufSpec<SendOp>('send', Op.SEND, sys.send)
