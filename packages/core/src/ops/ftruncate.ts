/**
 * `ftruncate`: cuts or extends a file (IORING_OP_FTRUNCATE, Linux 6.9+).
 *
 * @packageDocumentation
 */
import * as sys from '../poll/sys.js'
import { Op } from '../uring/abi.js'
import { prepRw } from '../uring/prep.js'
import { PollRoute, type OpSpec } from './op-spec.js'

/**
 * `ftruncate(fd, length)`: cuts the file to `length` bytes, or extends it with
 * zeros. Completes with 0 or `-errno` (`EINVAL` when `fd` is not open for
 * writing, `EBADF`, `EFBIG`…). New in io_uring with Linux 6.9: where
 * `supports('ftruncate')` is false the kernel rejects the SQE with `-EINVAL`,
 * so check first and use a threadpool `ftruncate(2)` instead.
 */
export interface FtruncateOp {
  /** The op kind. */
  readonly kind: 'ftruncate'
  /** The fd. */
  fd: number
  /** The new size. */
  length: number
}

/** The `ftruncate` op kind. */
export const ftruncateSpec: OpSpec<FtruncateOp> = {
  kind: 'ftruncate',
  opcode: Op.FTRUNCATE,
  errorName: 'ftruncate',
  uring(op, u, w) {
    // As liburing's io_uring_prep_ftruncate: the length in off; addr, len and the flags word stay 0
    // (the kernel rejects the SQE with EINVAL otherwise).
    prepRw(u.sqe32, w, Op.FTRUNCATE, op.fd, 0, 0, op.length)
    return undefined
  },
  poll: {
    route: PollRoute.Pool,
    blocking(op, _rec, cb) {
      sys.ftruncate.async(op.fd, op.length, cb)
    },
  },
  handle: (op) => op.fd,
}
