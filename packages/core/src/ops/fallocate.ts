/**
 * `fallocate`: reserves, punches or zeroes a range of a file (IORING_OP_FALLOCATE).
 *
 * @packageDocumentation
 */
import * as sys from '../poll/sys.js'
import { Op } from '../uring/abi.js'
import { prepRw } from '../uring/prep.js'
import { PollRoute, type OpSpec } from './op-spec.js'

/**
 * `fallocate(fd, mode, offset, length)` on `[offset, offset + length)`. Mode 0
 * grows the size to cover the range; `FALLOC_FL_KEEP_SIZE` (1) does not.
 * Completes with 0 or `-errno` (`EOPNOTSUPP` where the file system cannot,
 * `ENOSPC`, `EBADF`, `EINVAL` for a zero length…).
 */
export interface FallocateOp {
  /** The op kind. */
  readonly kind: 'fallocate'
  /** The fd. */
  fd: number
  /** `FALLOC_FL_*`, 0 to reserve. */
  mode: number
  /** Start of the range. */
  offset: number
  /** Length of the range. */
  length: number
}

/** The `fallocate` op kind. */
export const fallocateSpec: OpSpec<FallocateOp> = {
  kind: 'fallocate',
  opcode: Op.FALLOCATE,
  errorName: 'fallocate',
  uring(op, u, w) {
    // As liburing's io_uring_prep_fallocate: the length in addr, the mode in len, the offset in off.
    prepRw(u.sqe32, w, Op.FALLOCATE, op.fd, op.length, op.mode, op.offset)
    return undefined
  },
  poll: {
    route: PollRoute.Pool,
    blocking(op, _rec, cb) {
      sys.fallocate.async(op.fd, op.mode, op.offset, op.length, cb)
    },
  },
  handle: (op) => op.fd,
}
