/**
 * `shutdown`: `shutdown(fd, how)` (IORING_OP_SHUTDOWN).
 *
 * @packageDocumentation
 */
import * as sys from '../poll/sys.js'
import { Op } from '../uring/abi.js'
import { prepRw } from '../uring/prep.js'
import { PollRoute, type OpSpec } from './op-spec.js'

/** Shuts down one or both directions of socket `fd`; completes with 0. */
export interface ShutdownOp {
  /** The op kind. */
  readonly kind: 'shutdown'
  /** The socket. */
  fd: number
  /** `SHUT_RD` (0), `SHUT_WR` (1) or `SHUT_RDWR` (2). */
  how: number
}

/** The `shutdown` op kind. */
export const shutdownSpec: OpSpec<ShutdownOp> = {
  kind: 'shutdown',
  opcode: Op.SHUTDOWN,
  errorName: 'shutdown',
  uring(op, u, w) {
    prepRw(u.sqe32, w, Op.SHUTDOWN, op.fd, 0, op.how, 0)
    return undefined
  },
  // Never blocks.
  poll: { route: PollRoute.Now, now: (op) => sys.result(sys.shutdown(op.fd, op.how)) },
  handle: (op) => op.fd,
}
