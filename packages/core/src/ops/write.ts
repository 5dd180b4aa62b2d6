/**
 * `write`: `pwrite(fd, buf, buf.length, offset)` (IORING_OP_WRITE).
 *
 * @packageDocumentation
 */
import * as sys from '../poll/sys.js'
import { Op } from '../uring/abi.js'
import { rwSpec } from './rw-common.js'

/** Writes `buf`; completes with the bytes written (maybe fewer: the caller resumes from the byte after). */
export interface WriteOp {
  /** The op kind. */
  readonly kind: 'write'
  /** The fd. */
  fd: number
  /** The bytes to write. */
  buf: Uint8Array
  /** File offset; -1 writes at the file's position. */
  offset: number
}

/** The `write` op kind. */
export const writeSpec = rwSpec<WriteOp>('write', Op.WRITE, { at: sys.write, pat: sys.pwrite, blocking: sys.writeAt, pblocking: sys.pwriteAt })
