/**
 * `raw`: the escape hatch — any io_uring opcode ringio does not wrap, as a
 * whole SQE image.
 *
 * @packageDocumentation
 */
import { checkBytes } from '../errors.js'
import { IOSQE_CQE_SKIP_SUCCESS, IOSQE_IO_HARDLINK, IOSQE_IO_LINK, SQE } from '../uring/abi.js'
import { copySqe } from '../uring/prep.js'
import { PollRoute, type OpSpec } from './op-spec.js'

/**
 * A raw io_uring SQE: the 64 bytes of a `struct io_uring_sqe` (byte offsets
 * in `SQE` of `uring/abi.ts`, the kernel's names), copied into the ring as
 * they are. ringio sets `user_data` (its completion routing) and clears
 * `IOSQE_IO_LINK`, `IOSQE_IO_HARDLINK` (a link would chain to whatever SQE
 * comes next) and `IOSQE_CQE_SKIP_SUCCESS` (the target must see its
 * completion); everything else is the caller's: `res`/`flags` of each CQE
 * reach the target unchanged, several times if the opcode is multishot.
 *
 * Only io_uring has it: check `supports('raw')` (and `supports(opcode)` for
 * the opcode); on the poll backend starting it throws `ENOSYS`.
 *
 * Memory the SQE points to (`addr`, buffers, structs) must stay valid and
 * unmodified until the final completion: put it in {@link keep}.
 */
export interface RawOp {
  /** The op kind. */
  readonly kind: 'raw'
  /** 64 bytes: the SQE image. */
  sqe: Uint8Array
  /** Whatever the SQE's addresses point into: kept alive until the final completion. */
  keep?: unknown
}

const DROPPED_FLAGS = IOSQE_IO_LINK | IOSQE_IO_HARDLINK | IOSQE_CQE_SKIP_SUCCESS

/** The `raw` op kind. */
export const rawSpec: OpSpec<RawOp> = {
  kind: 'raw',
  opcode: -1,
  errorName: 'raw',
  check(op) {
    checkBytes('sqe', op.sqe)
    if (op.sqe.length !== SQE.SIZE) throw new RangeError(`sqe must be ${SQE.SIZE} bytes (a struct io_uring_sqe), got ${op.sqe.length}`)
  },
  uring(op, u, w) {
    copySqe(u.sqe32, w, op.sqe)
    u.sqe32[w] = u.sqe32[w]! & ~(DROPPED_FLAGS << 8) // sqe.flags is the opcode word's second byte
    return op
  },
  poll: { route: PollRoute.None },
  handle: () => undefined,
}
