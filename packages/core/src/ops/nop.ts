/**
 * `nop`: a round trip through the backend that does nothing (IORING_OP_NOP).
 *
 * @packageDocumentation
 */
import { Op } from '../uring/abi.js'
import { prepRw } from '../uring/prep.js'
import { PollRoute, type OpSpec } from './op-spec.js'

/** A no-op: completes with 0. */
export interface NopOp {
  /** The op kind. */
  readonly kind: 'nop'
}

/** The `nop` op kind. */
export const nopSpec: OpSpec<NopOp> = {
  kind: 'nop',
  opcode: Op.NOP,
  errorName: 'nop',
  uring(_op, u, w) {
    prepRw(u.sqe32, w, Op.NOP, -1, 0, 0, 0)
    return undefined
  },
  poll: { route: PollRoute.Now, now: () => 0 },
  handle: () => undefined,
}
