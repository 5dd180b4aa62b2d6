/**
 * `openat`: `openat(dirfd, path, flags, mode)` (IORING_OP_OPENAT).
 *
 * @packageDocumentation
 */
import * as sys from '../poll/sys.js'
import { addressOf } from '../sys/libc.js'
import { Op } from '../uring/abi.js'
import { prepRw, setOpFlags } from '../uring/prep.js'
import { checkPath } from './checks.js'
import { PollRoute, type OpSpec } from './op-spec.js'

/** Opens `path`; completes with the new fd. */
export interface OpenatOp {
  /** The op kind. */
  readonly kind: 'openat'
  /** The directory `path` is relative to; `AT_FDCWD` (-100) for the cwd. */
  dirfd: number
  /** The path, NUL-terminated. */
  path: Uint8Array
  /** `O_*` flags (add `O_CLOEXEC`: ringio's own fds never leak into children). */
  flags: number
  /** The mode of a created file. */
  mode: number
}

/** The `openat` op kind. */
export const openatSpec: OpSpec<OpenatOp> = {
  kind: 'openat',
  opcode: Op.OPENAT,
  errorName: 'openat',
  check(op) {
    checkPath(op.path)
  },
  uring(op, u, w) {
    prepRw(u.sqe32, w, Op.OPENAT, op.dirfd, addressOf(op.path), op.mode, 0)
    setOpFlags(u.sqe32, w, op.flags)
    return op
  },
  poll: {
    route: PollRoute.Pool,
    fd: (op) => op.dirfd,
    blocking(op, _rec, cb) {
      sys.openatAt.async(op.dirfd, addressOf(op.path), op.flags, op.mode, cb)
    },
  },
  handle: (op) => pathName(op.path),
}

/** A NUL-terminated path as a string, for error messages. */
export function pathName(path: Uint8Array): string {
  const end = path.indexOf(0)
  return Buffer.from(path.buffer, path.byteOffset, end < 0 ? path.length : end).toString()
}
