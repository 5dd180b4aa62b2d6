/**
 * One started operation of the poll backend, as data. Records live in an
 * array indexed by {@link SlotTable} slot and are reused, so starting an
 * operation allocates nothing once the table has warmed up.
 *
 * @packageDocumentation
 */
import type { PollBufferGroup } from './buffer-group.js'

/** What an operation does. Plain numbers (not a `const enum`: isolatedModules). */
export const Kind = {
  Nop: 0,
  Timeout: 1,
  Read: 2,
  Write: 3,
  Readv: 4,
  Writev: 5,
  Fsync: 6,
  Openat: 7,
  Close: 8,
  Accept: 9,
  Connect: 10,
  Recv: 11,
  RecvMulti: 12,
  Send: 13,
  Sendmsg: 14,
  Recvmsg: 15,
  Shutdown: 16,
  Poll: 17,
  RecvmsgMulti: 18,
  Statx: 19,
  Fallocate: 20,
  Ftruncate: 21,
} as const

/** Where an operation is: which structure holds it, hence how `cancel` undoes it. */
export const State = {
  /** Being started. */
  Idle: 0,
  /**
   * Not running yet: in an fd's read/write/poll queue, waiting for readiness,
   * or (with {@link PollOp.queued}) in the threadpool's FIFO, waiting for a
   * koffi async slot (`pool-gate.ts`). Either way cancel completes it at once.
   */
  Waiting: 1,
  /** A koffi `.async` call is running on the threadpool: cannot be interrupted. */
  Pool: 2,
  /** A timer is armed. */
  Timer: 3,
  /** The final completion is queued: cancel is ignored from now on. */
  Done: 5,
} as const

/** The record of one operation; fields are meaningful per {@link Kind}. */
export class PollOp {
  /**
   * A read on a blocking but pollable fd (a shared pipe, FIFO, TTY): it waits
   * for readiness in the reactor first — where cancel works — and only then
   * goes to the threadpool, so an abort never leaves a worker stuck in read(2).
   */
  gate = false
  kind = 0
  state = 0
  fd = -1
  /** The caller's buffer (read/write/recv/send), sockaddr (connect), msghdr, or path (openat, statx). */
  buf: Uint8Array | null = null
  /** statx: the `struct statx` the call fills. */
  out: Uint8Array | null = null
  /** `struct iovec[]` for readv/writev, built at start. */
  iov: Buffer | null = null
  iovCount = 0
  /** File offset, -1 for "at the file position"; fallocate's offset; ftruncate's length. */
  offset = 0
  /** fallocate: the length of the range. */
  length = 0
  /** recv/send flags, poll events, shutdown how, open/statx flags, fsync datasync (1/0). */
  flags = 0
  /** openat mode, statx mask, fallocate mode. */
  mode = 0
  multishot = false
  group: PollBufferGroup | null = null
  /** Multishot recvmsg: bytes reserved for the source address in each buffer (`msg_namelen`). */
  nameSpace = 0
  /** Multishot recvmsg: bytes reserved for control data in each buffer (`msg_controllen`). */
  controlSpace = 0
  /** Keeps the process alive while pending. */
  ref = true
  /** connect: 0 before the syscall, 1 once EINPROGRESS (then SO_ERROR decides). */
  stage = 0
  /** A cancel arrived while a threadpool call was running. */
  cancelAsked = false
  /** In the threadpool's FIFO (state `Waiting`), not started yet. */
  queued = false
  timer: NodeJS.Timeout | null = null

  /** @param slot the SlotTable slot this record belongs to, forever */
  constructor(readonly slot: number) {}

  /** Prepares the record for a new operation. */
  reset(kind: number, fd: number, ref: boolean): void {
    this.gate = false
    this.kind = kind
    this.state = 0
    this.fd = fd
    this.ref = ref
    this.offset = 0
    this.length = 0
    this.flags = 0
    this.mode = 0
    this.multishot = false
    this.nameSpace = 0
    this.controlSpace = 0
    this.stage = 0
    this.cancelAsked = false
    this.queued = false
  }

  /** Drops every reference, so a finished operation pins no caller memory. */
  clear(): void {
    this.buf = null
    this.out = null
    this.iov = null
    this.group = null
    this.timer = null
    this.state = 0
    this.queued = false
  }
}

/** Builds a `struct iovec[]` (16 bytes each on 64-bit Linux: base, len) over `bufs`. */
export function buildIovec(bufs: readonly Uint8Array[], addressOf: (b: Uint8Array) => number): Buffer {
  const iov = Buffer.alloc(bufs.length * 16)
  for (let i = 0; i < bufs.length; i++) {
    const b = bufs[i]!
    // A zero-length view may have no backing store: its address is never read by the kernel.
    iov.writeBigUInt64LE(BigInt(b.length === 0 ? 0 : addressOf(b)), i * 16)
    iov.writeBigUInt64LE(BigInt(b.length), i * 16 + 8)
  }
  return iov
}
