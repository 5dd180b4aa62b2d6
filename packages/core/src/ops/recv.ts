/**
 * `recv`: `recv(fd, buf, flags)` into the caller's buffer (IORING_OP_RECV).
 *
 * @packageDocumentation
 */
import * as sys from '../poll/sys.js'
import { Op } from '../uring/abi.js'
import { socketBufSpec } from './socket-common.js'

/** Receives into `buf`; completes with the bytes received (0: EOF on a stream). */
export interface RecvOp {
  /** The op kind. */
  readonly kind: 'recv'
  /** The socket. */
  fd: number
  /** Where the bytes go. */
  buf: Uint8Array
  /** `MSG_*` flags; with `MSG_DONTWAIT` an empty socket completes with `-EAGAIN`. */
  flags: number
}

/** The `recv` op kind. */
export const recvSpec = socketBufSpec<RecvOp>('recv', Op.RECV, sys.recv)
