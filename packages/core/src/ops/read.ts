/**
 * `read`: `pread(fd, buf, buf.length, offset)` (IORING_OP_READ).
 *
 * @packageDocumentation
 */
import * as sys from '../poll/sys.js'
import { Op } from '../uring/abi.js'
import { rwSpec } from './rw-common.js'

/** Reads into `buf`; completes with the bytes read (0 at EOF). */
export interface ReadOp {
  /** The op kind. */
  readonly kind: 'read'
  /** The fd. */
  fd: number
  /** Where the bytes go (up to its length). */
  buf: Uint8Array
  /** File offset; -1 reads at the file's position (pipes, sockets, TTYs). */
  offset: number
}

/** The `read` op kind. */
export const readSpec = rwSpec<ReadOp>('read', Op.READ, { at: sys.read, pat: sys.pread, blocking: sys.readAt, pblocking: sys.preadAt })
