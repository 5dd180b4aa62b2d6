/**
 * `timeout`: completes with `-ETIME` after a delay, once or repeatedly
 * (IORING_OP_TIMEOUT, `IORING_TIMEOUT_MULTISHOT`).
 *
 * @packageDocumentation
 */
import { checkNumber } from './checks.js'
import { IORING_TIMEOUT_MULTISHOT, Op } from '../uring/abi.js'
import { prepRw, setOpFlags } from '../uring/prep.js'
import { PollRoute, type OpSpec } from './op-spec.js'

/** A timer: completes with `-ETIME` after `ms`; with `repeat`, every `ms` (with `MORE`) until cancelled. */
export interface TimeoutOp {
  /** The op kind. */
  readonly kind: 'timeout'
  /** The delay in milliseconds (0..2^31-1; fractions are kept on io_uring, rounded up on the poll backend). */
  ms: number
  /** Fire again every `ms` until cancelled. */
  repeat: boolean
}

/** The `timeout` op kind. */
export const timeoutSpec: OpSpec<TimeoutOp> = {
  kind: 'timeout',
  opcode: Op.TIMEOUT,
  errorName: 'timeout',
  check(op) {
    checkNumber('ms', op.ms, 0, 2 ** 31 - 1)
  },
  uring(op, u, w) {
    prepRw(u.sqe32, w, Op.TIMEOUT, -1, u.timespec(w, op.ms), 1, 0)
    if (op.repeat) setOpFlags(u.sqe32, w, IORING_TIMEOUT_MULTISHOT)
    return undefined
  },
  poll: {
    route: PollRoute.Timer,
    start(op, rec) {
      rec.multishot = op.repeat
      // Timers have millisecond resolution here: round up so a timer never fires early.
      rec.events = Math.ceil(op.ms)
    },
  },
  handle: () => undefined,
}
