/**
 * `close`: `close(fd)` (IORING_OP_CLOSE).
 *
 * @packageDocumentation
 */
import * as sys from '../poll/sys.js'
import { Op } from '../uring/abi.js'
import { prepRw } from '../uring/prep.js'
import { PollRoute, type OpSpec } from './op-spec.js'

/** Closes `fd`; completes with 0. Ops still pending on it end as the kernel decides (io_uring) or with `-ECANCELED` (poll). */
export interface CloseOp {
  /** The op kind. */
  readonly kind: 'close'
  /** The fd. */
  fd: number
}

/** The `close` op kind. */
export const closeSpec: OpSpec<CloseOp> = {
  kind: 'close',
  opcode: Op.CLOSE,
  errorName: 'close',
  uring(op, u, w) {
    prepRw(u.sqe32, w, Op.CLOSE, op.fd, 0, 0, 0)
    return undefined
  },
  poll: {
    route: PollRoute.Now,
    now(op, ctx) {
      // Watcher first: libuv must never watch a closed (and maybe reused) fd number.
      ctx.dropFd(op.fd)
      return sys.result(sys.close(op.fd))
    },
  },
  handle: (op) => op.fd,
}
