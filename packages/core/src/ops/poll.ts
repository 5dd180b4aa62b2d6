/**
 * `poll`: the readiness of an fd, once or multishot (IORING_OP_POLL_ADD).
 *
 * @packageDocumentation
 */
import { IORING_POLL_ADD_MULTI, Op } from '../uring/abi.js'
import { prepRw, setOpFlags } from '../uring/prep.js'
import { PollRoute, type OpSpec } from './op-spec.js'

/**
 * Completes with the revents mask once `fd` is ready for `events` (`POLLIN`…;
 * `POLLERR`/`POLLHUP` always count); with `multishot`, again on each new
 * wakeup (`MORE`). Edge-triggered, as io_uring's POLL_ADD.
 */
export interface PollOp {
  /** The op kind. */
  readonly kind: 'poll'
  /** The fd (any: its flags are never changed). */
  fd: number
  /** `POLL*` events. */
  events: number
  /** Keep reporting. */
  multishot: boolean
}

/** The `poll` op kind. */
export const pollSpec: OpSpec<PollOp> = {
  kind: 'poll',
  opcode: Op.POLL_ADD,
  errorName: 'poll',
  uring(op, u, w) {
    prepRw(u.sqe32, w, Op.POLL_ADD, op.fd, 0, op.multishot ? IORING_POLL_ADD_MULTI : 0, 0)
    setOpFlags(u.sqe32, w, op.events)
    return undefined
  },
  poll: {
    route: PollRoute.Watch,
    start(op, rec) {
      rec.events = op.events
      rec.multishot = op.multishot
    },
  },
  handle: (op) => op.fd,
}
