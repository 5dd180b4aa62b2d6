/**
 * `statx`: the metadata of a path or an fd (IORING_OP_STATX).
 *
 * @packageDocumentation
 */
import { checkBytes } from '../errors.js'
import * as sys from '../poll/sys.js'
import { addressOf } from '../sys/libc.js'
import { Op, STATX_SIZE } from '../uring/abi.js'
import { prepRw, setOpFlags } from '../uring/prep.js'
import { checkPath } from './checks.js'
import { pathName } from './openat.js'
import { PollRoute, type OpSpec } from './op-spec.js'

/**
 * `statx(dirfd, path, flags, mask, buf)`: the metadata of `path` (relative to
 * `dirfd`; `AT_FDCWD` for the cwd), or of `dirfd` itself with an empty path
 * and `AT_EMPTY_PATH` in `flags`. `buf` receives a `struct statx`, written
 * only until the completion. Completes with 0 or `-errno` (`ENOENT`,
 * `ENOTDIR`, `EBADF`…).
 */
export interface StatxOp {
  /** The op kind. */
  readonly kind: 'statx'
  /** The directory `path` is relative to. */
  dirfd: number
  /** The path, NUL-terminated. */
  path: Uint8Array
  /** `AT_*` flags. */
  flags: number
  /** `STATX_*`: what to fill (the kernel may fill more; `stx_mask` says what it did). */
  mask: number
  /** At least 256 bytes: receives the `struct statx`. */
  buf: Uint8Array
}

/** The `statx` op kind. */
export const statxSpec: OpSpec<StatxOp> = {
  kind: 'statx',
  opcode: Op.STATX,
  errorName: 'statx',
  check(op) {
    // The kernel reads the path up to its NUL and writes a whole struct statx: check both before they reach it.
    checkPath(op.path)
    checkBytes('buf', op.buf)
    if (op.buf.length < STATX_SIZE) throw new RangeError(`buf must hold a struct statx (${STATX_SIZE} bytes), got ${op.buf.length}`)
  },
  uring(op, u, w) {
    // As liburing's io_uring_prep_statx: path in addr, mask in len, the statx buffer's address in off.
    prepRw(u.sqe32, w, Op.STATX, op.dirfd, addressOf(op.path), op.mask, addressOf(op.buf))
    setOpFlags(u.sqe32, w, op.flags)
    return op
  },
  poll: {
    route: PollRoute.Pool,
    fd: (op) => op.dirfd,
    blocking(op, _rec, cb) {
      sys.statxAt.async(op.dirfd, addressOf(op.path), op.flags, op.mask, addressOf(op.buf), cb)
    },
  },
  handle: (op) => pathName(op.path),
}
