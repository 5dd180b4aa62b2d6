/**
 * `accept`: `accept4(fd, NULL, NULL, SOCK_CLOEXEC)`, once or multishot (IORING_OP_ACCEPT).
 *
 * @packageDocumentation
 */
import { AGAIN, DONE, WAIT } from '../poll/attempt.js'
import * as sys from '../poll/sys.js'
import { EAGAIN, EINTR } from '../sys/errno.js'
import { IORING_ACCEPT_MULTISHOT, Op } from '../uring/abi.js'
import { prepRw, setFlags, setOpFlags } from '../uring/prep.js'
import { PollRoute, type OpSpec } from './op-spec.js'

/**
 * Accepts a connection on listening socket `fd`; completes with the new fd
 * (close-on-exec; non-blocking on the poll backend, which needs it). With
 * `multishot` it keeps accepting (completions carry `MORE`) until an error,
 * which ends it: the caller re-arms.
 */
export interface AcceptOp {
  /** The op kind. */
  readonly kind: 'accept'
  /** The listening socket. */
  fd: number
  /** Keep accepting. */
  multishot: boolean
}

const ACCEPT_FLAGS = sys.SOCK_NONBLOCK | sys.SOCK_CLOEXEC

/** The `accept` op kind. */
export const acceptSpec: OpSpec<AcceptOp> = {
  kind: 'accept',
  opcode: Op.ACCEPT,
  errorName: 'accept',
  uring(op, u, w) {
    prepRw(u.sqe32, w, Op.ACCEPT, op.fd, 0, 0, 0)
    setOpFlags(u.sqe32, w, sys.SOCK_CLOEXEC)
    if (op.multishot) setFlags(u.sqe32, w, 0, IORING_ACCEPT_MULTISHOT)
    return undefined
  },
  poll: {
    route: PollRoute.Fd,
    dir: 'read',
    start(op, rec) {
      rec.multishot = op.multishot
    },
    step(op, rec, sink) {
      const res = sys.result(sys.accept4(op.fd, 0, 0, ACCEPT_FLAGS))
      if (res === -EAGAIN) return WAIT
      if (res === -EINTR) return AGAIN
      if (op.multishot && res >= 0) {
        sink.more(rec.slot, res, 0)
        return AGAIN
      }
      // As io_uring's multishot accept, an error ends it (no MORE): the caller re-arms if it wants.
      sink.finish(rec.slot, res, 0)
      return DONE
    },
    blocking(op, _rec, cb) {
      sys.accept4.async(op.fd, 0, 0, ACCEPT_FLAGS, cb)
    },
  },
  handle: (op) => op.fd,
}
