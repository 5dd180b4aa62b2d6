/**
 * `writev`: `pwritev` from several buffers (IORING_OP_WRITEV).
 *
 * @packageDocumentation
 */
import * as sys from '../poll/sys.js'
import { Op } from '../uring/abi.js'
import { rwvSpec } from './rw-common.js'

/** Writes `bufs` in order; completes with the bytes written (maybe fewer: the caller resumes from the byte after). */
export interface WritevOp {
  /** The op kind. */
  readonly kind: 'writev'
  /** The fd. */
  fd: number
  /** The bytes to write, in order. */
  bufs: readonly Uint8Array[]
  /** File offset; -1 writes at the file's position. */
  offset: number
}

/** The `writev` op kind. */
export const writevSpec = rwvSpec<WritevOp>('writev', Op.WRITEV, { at: sys.writev, pat: sys.pwritev, blocking: sys.writevAt, pblocking: sys.pwritevAt })
