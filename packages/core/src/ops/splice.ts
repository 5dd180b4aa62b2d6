/**
 * `splice`: moves bytes between two fds inside the kernel, one of them a pipe
 * (IORING_OP_SPLICE, Linux 5.7+). A pipe-to-pipe copy moves page references,
 * not bytes: nothing passes through JavaScript.
 *
 * @packageDocumentation
 */
import * as sys from '../poll/sys.js'
import { addressOf } from '../sys/libc.js'
import { Op } from '../uring/abi.js'
import { prepRw, setAddrOffset, setFileIndex, setOpFlags } from '../uring/prep.js'
import { checkNumber } from './checks.js'
import { PollRoute, type OpSpec } from './op-spec.js'

/** `SPLICE_F_MOVE`: a hint to move pages rather than copy them. */
export const SPLICE_F_MOVE = 1
/** `SPLICE_F_NONBLOCK`: the pipe sides do not block (EAGAIN instead), whatever the descriptions' O_NONBLOCK. */
export const SPLICE_F_NONBLOCK = 2
/** `SPLICE_F_MORE`: more data follows (a hint for sockets). */
export const SPLICE_F_MORE = 4

/**
 * `splice(fdIn, offIn, fdOut, offOut, len, flags)`: moves up to `len` bytes
 * from `fdIn` to `fdOut`, one of which must be a pipe. Completes with the
 * bytes moved: 0 at the end of the input, fewer than `len` when the pipe
 * held or took fewer (call again). Fails with `-EPIPE` when the output pipe
 * has no reader, `-EINVAL` when neither fd is a pipe.
 *
 * On io_uring the kernel runs it in a worker thread, which blocks on an
 * empty input or full output pipe; cancelling interrupts it. On the poll
 * backend it waits (cancellable) for the input to be readable, then runs
 * on the threadpool: a call blocked on a full output pipe cannot be
 * interrupted there, and keeps its worker until the reader drains the pipe.
 * Neither changes a flag of either fd: safe on inherited stdin and stdout.
 */
export interface SpliceOp {
  /** The op kind. */
  readonly kind: 'splice'
  /** The fd read from. */
  fdIn: number
  /** Offset in `fdIn`; -1 for a pipe or the file's position. */
  offIn: number
  /** The fd written to. */
  fdOut: number
  /** Offset in `fdOut`; -1 for a pipe or the file's position. */
  offOut: number
  /** The most bytes to move (a pipe holds 64 KiB by default). */
  len: number
  /** `SPLICE_F_*`. */
  flags: number
}

/** The `splice` op kind. */
export const spliceSpec: OpSpec<SpliceOp> = {
  kind: 'splice',
  opcode: Op.SPLICE,
  errorName: 'splice',
  check(op) {
    checkNumber('len', op.len, 0, 0xffffffff)
  },
  uring(op, u, w) {
    // As liburing's io_uring_prep_splice: fd_out in fd, off_out in off, nbytes in len,
    // off_in in splice_off_in (addr), fd_in in splice_fd_in, the flags in splice_flags.
    prepRw(u.sqe32, w, Op.SPLICE, op.fdOut, 0, op.len, op.offOut)
    setAddrOffset(u.sqe32, w, op.offIn)
    setFileIndex(u.sqe32, w, op.fdIn)
    setOpFlags(u.sqe32, w, op.flags)
    return undefined
  },
  poll: {
    route: PollRoute.Gated,
    fd: (op) => op.fdIn,
    start(op, rec) {
      if (op.offIn < 0 && op.offOut < 0) return
      // splice(2) takes the offsets as loff_t pointers, which it advances.
      const offs = Buffer.alloc(16)
      offs.writeBigInt64LE(BigInt(Math.max(op.offIn, 0)), 0)
      offs.writeBigInt64LE(BigInt(Math.max(op.offOut, 0)), 8)
      rec.iov = offs
    },
    blocking(op, rec, cb) {
      const base = rec.iov === null ? 0 : addressOf(rec.iov)
      sys.spliceAt.async(op.fdIn, op.offIn < 0 ? 0 : base, op.fdOut, op.offOut < 0 ? 0 : base + 8, op.len, op.flags, cb)
    },
  },
  handle: (op) => op.fdIn,
}
