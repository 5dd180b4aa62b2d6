/**
 * `readv`: `preadv` into several buffers (IORING_OP_READV).
 *
 * @packageDocumentation
 */
import * as sys from '../poll/sys.js'
import { Op } from '../uring/abi.js'
import { rwvSpec } from './rw-common.js'

/** Reads into `bufs` in order; completes with the bytes read. */
export interface ReadvOp {
  /** The op kind. */
  readonly kind: 'readv'
  /** The fd. */
  fd: number
  /** Where the bytes go, filled in order. */
  bufs: readonly Uint8Array[]
  /** File offset; -1 reads at the file's position. */
  offset: number
}

/** The `readv` op kind. */
export const readvSpec = rwvSpec<ReadvOp>('readv', Op.READV, { at: sys.readv, pat: sys.preadv, blocking: sys.readvAt, pblocking: sys.preadvAt })
