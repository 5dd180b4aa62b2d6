/**
 * `fsync`: `fsync`/`fdatasync` (IORING_OP_FSYNC).
 *
 * @packageDocumentation
 */
import * as sys from '../poll/sys.js'
import { IORING_FSYNC_DATASYNC, Op } from '../uring/abi.js'
import { prepRw, setOpFlags } from '../uring/prep.js'
import { PollRoute, type OpSpec } from './op-spec.js'

/** Flushes `fd` to storage; completes with 0. */
export interface FsyncOp {
  /** The op kind. */
  readonly kind: 'fsync'
  /** The fd. */
  fd: number
  /** `fdatasync`: data and what is needed to read it back, not every piece of metadata. */
  datasync: boolean
}

/** The `fsync` op kind. */
export const fsyncSpec: OpSpec<FsyncOp> = {
  kind: 'fsync',
  opcode: Op.FSYNC,
  errorName: 'fsync',
  uring(op, u, w) {
    prepRw(u.sqe32, w, Op.FSYNC, op.fd, 0, 0, 0)
    if (op.datasync) setOpFlags(u.sqe32, w, IORING_FSYNC_DATASYNC)
    return undefined
  },
  poll: {
    route: PollRoute.Pool,
    blocking(op, _rec, cb) {
      ;(op.datasync ? sys.fdatasync : sys.fsync).async(op.fd, cb)
    },
  },
  handle: (op) => op.fd,
}
