/**
 * The shared pool of read buffers, as both backends offer it.
 *
 * @packageDocumentation
 */

/**
 * A shared pool of read buffers: `count` buffers of `size` bytes, from which
 * the backend picks one only when data arrives (an io_uring provided-buffer
 * ring, or its emulation). Ten thousand idle sockets cost no buffer.
 */
export interface BufferGroup {
  /** The group id (`bgid`). */
  readonly id: number
  /** Number of buffers. */
  readonly count: number
  /** Bytes per buffer. */
  readonly size: number
  /** Buffers currently in the pool (not lent out). */
  readonly available: number
  /** A no-copy view of the first `len` bytes of buffer `bid`; valid until {@link release}. */
  view(bid: number, len: number): Buffer
  /** Copies the first `len` bytes of buffer `bid` into `target` at `targetStart`. */
  copyOut(bid: number, len: number, target: Uint8Array, targetStart: number): void
  /** Gives buffer `bid` back to the pool. Each lent buffer is released exactly once. */
  release(bid: number): void
  /** Calls `fn` once, the next time a buffer is released (to re-arm reads that hit `ENOBUFS`). */
  onRelease(fn: () => void): void
  /** Unregisters the group and frees its memory. Buffers lent out must not be used afterwards. */
  close(): void
}
