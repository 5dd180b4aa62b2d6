/**
 * What read and write, readv and writev share: one spec shape each, filled
 * with the opcode and syscalls of one direction. The data interfaces stay in
 * their own files (`read.ts`, `write.ts`, `readv.ts`, `writev.ts`).
 *
 * @packageDocumentation
 */
import { checkBytes } from '../errors.js'
import { settle } from '../poll/attempt.js'
import * as sys from '../poll/sys.js'
import { addressOf, type AsyncFn } from '../sys/libc.js'
import { prepRw } from '../uring/prep.js'
import { checkByteArrays } from './checks.js'
import { PollRoute, type OpSpec } from './op-spec.js'

/** The address of `b` for a syscall: a zero-length view may have no backing store, and the kernel never reads it. */
export const bufAddr = (b: Uint8Array): number => (b.length === 0 ? 0 : addressOf(b))

/** Builds a `struct iovec[]` (16 bytes each on 64-bit Linux: base, len) over `bufs`. */
export function buildIovec(bufs: readonly Uint8Array[]): Buffer {
  const iov = Buffer.alloc(bufs.length * 16)
  for (let i = 0; i < bufs.length; i++) {
    const b = bufs[i]!
    iov.writeBigUInt64LE(BigInt(bufAddr(b)), i * 16)
    iov.writeBigUInt64LE(BigInt(b.length), i * 16 + 8)
  }
  return iov
}

/** One direction of a single-buffer transfer: its syscalls, at the fd's position and at an offset. */
export interface RwCalls {
  /** `read`/`write` on the JS thread (a non-blocking fd). */
  at: (fd: number, buf: Uint8Array, len: number) => number
  /** `pread`/`pwrite` on the JS thread. */
  pat: (fd: number, buf: Uint8Array, len: number, off: number) => number
  /** `read`/`write` by address, on the threadpool. */
  blocking: AsyncFn<[fd: number, buf: number, len: number]>
  /** `pread`/`pwrite` by address, on the threadpool. */
  pblocking: AsyncFn<[fd: number, buf: number, len: number, off: number]>
}

/** The spec of `read` or `write` (`offset` -1: the fd's position). */
export function rwSpec<O extends { readonly kind: 'read' | 'write'; fd: number; buf: Uint8Array; offset: number }>(
  kind: O['kind'],
  opcode: number,
  calls: RwCalls,
): OpSpec<O> {
  return {
    kind,
    opcode,
    errorName: kind,
    check(op) {
      checkBytes('buf', op.buf)
    },
    uring(op, u, w) {
      prepRw(u.sqe32, w, opcode, op.fd, addressOf(op.buf), op.buf.length, op.offset)
      return op
    },
    poll: {
      route: PollRoute.Fd,
      dir: kind,
      step(op, rec, sink) {
        const b = op.buf
        return settle(rec.slot, sink, sys.result(op.offset < 0 ? calls.at(op.fd, b, b.length) : calls.pat(op.fd, b, b.length, op.offset)), false)
      },
      blocking(op, _rec, cb) {
        const b = op.buf
        if (op.offset < 0) calls.blocking.async(op.fd, bufAddr(b), b.length, cb)
        else calls.pblocking.async(op.fd, bufAddr(b), b.length, op.offset, cb)
      },
    },
    handle: (op) => op.fd,
  }
}

/** One direction of a vectored transfer: its syscalls, as {@link RwCalls} with an iovec array. */
export interface RwvCalls {
  /** `readv`/`writev` on the JS thread. */
  at: (fd: number, iov: Uint8Array, cnt: number) => number
  /** `preadv`/`pwritev` on the JS thread. */
  pat: (fd: number, iov: Uint8Array, cnt: number, off: number) => number
  /** `readv`/`writev` by address, on the threadpool. */
  blocking: AsyncFn<[fd: number, iov: number, cnt: number]>
  /** `preadv`/`pwritev` by address, on the threadpool. */
  pblocking: AsyncFn<[fd: number, iov: number, cnt: number, off: number]>
}

/** The spec of `readv` or `writev`. */
export function rwvSpec<O extends { readonly kind: 'readv' | 'writev'; fd: number; bufs: readonly Uint8Array[]; offset: number }>(
  kind: O['kind'],
  opcode: number,
  calls: RwvCalls,
): OpSpec<O> {
  return {
    kind,
    opcode,
    errorName: kind,
    check(op) {
      checkByteArrays('bufs', op.bufs)
    },
    uring(op, u, w) {
      prepRw(u.sqe32, w, opcode, op.fd, u.iovec(op.bufs), op.bufs.length, op.offset)
      return op
    },
    poll: {
      route: PollRoute.Fd,
      dir: kind === 'readv' ? 'read' : 'write',
      start(op, rec) {
        rec.iov = buildIovec(op.bufs)
        rec.iovCount = op.bufs.length
      },
      step(op, rec, sink) {
        const res = op.offset < 0 ? calls.at(op.fd, rec.iov!, rec.iovCount) : calls.pat(op.fd, rec.iov!, rec.iovCount, op.offset)
        return settle(rec.slot, sink, sys.result(res), false)
      },
      blocking(op, rec, cb) {
        if (op.offset < 0) calls.blocking.async(op.fd, addressOf(rec.iov!), rec.iovCount, cb)
        else calls.pblocking.async(op.fd, addressOf(rec.iov!), rec.iovCount, op.offset, cb)
      },
    },
    handle: (op) => op.fd,
  }
}
