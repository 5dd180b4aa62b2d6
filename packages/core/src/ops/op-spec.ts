/**
 * What one op kind is, for both backends: the shape every `ops/<kind>.ts`
 * file fills. An op file holds its data (an interface with a `kind`), the
 * checks of that data (the same on both backends, run before anything is
 * started), its io_uring encoding (written on the one prep core of
 * `uring/prep.ts`, as liburing's helpers are), its poll-backend form (which
 * route it takes there and its syscall), and how its failure is named in an
 * `IoError`.
 *
 * The backends know routes and encoders, never op kinds: adding an op is
 * adding a file here and a line in `specs.ts`.
 *
 * @packageDocumentation
 */
import type { BufferGroup } from '../buffer-group.js'
import type { PoolCallback, Sink } from '../poll/attempt.js'
import type { PollBufferGroup } from '../poll/buffer-group.js'

/** What the io_uring backend lends an op's encoder while it fills its SQE. */
export interface UringPrep {
  /** The SQ array as 32-bit words; the encoder writes the SQE at word `w`. */
  readonly sqe32: Uint32Array
  /** A `struct __kernel_timespec` of `ms` that lives until the SQE is submitted; returns its address. */
  timespec(w: number, ms: number): number
  /** A `struct iovec[]` over `bufs` that lives until the SQE is submitted (or, on old kernels, until completion); returns its address. */
  iovec(bufs: readonly Uint8Array[]): number
  /**
   * Makes the op pick its buffer from `group` (checked: a live group of this
   * proactor, else TypeError): its completions then carry the buffer id.
   * Returns true when the group's last receive found the socket empty (a
   * hint to arm the poll first).
   */
  bufferSelect(group: BufferGroup, op: string): boolean
}

/** How an op runs on the poll backend. Plain numbers (isolatedModules: no const enum). */
export const PollRoute = {
  /** Synchronous: `now()` gives the result at start (it is still delivered later, in order). */
  Now: 0,
  /** A timer (`timeout`). */
  Timer: 1,
  /** By the fd's mode: O_NONBLOCK fds are attempted on the reactor, others wait (cancellable) for readiness then run blocking on the threadpool. */
  Fd: 2,
  /** Always the reactor: the attempt passes `MSG_DONTWAIT`, safe even on a blocking socket that is not ours. */
  Socket: 3,
  /** Always the threadpool (files, metadata). */
  Pool: 4,
  /** A readiness watch in the private epoll set (`poll`). */
  Watch: 5,
  /** Waits (cancellable) for `fd` to be readable when epoll can watch it, then runs blocking on the threadpool. */
  Gated: 6,
  /** Not available on this backend: starting it throws `ENOSYS`. */
  None: 7,
} as const

/** The poll backend's record of a started op: the scratch an op's poll form may use, beside the op's own data. */
export interface PollRecord {
  /** The record's slot (for completions). */
  readonly slot: number
  /** The fd whose queues hold the op (set from the op at start). */
  fd: number
  /** Multishot: keeps posting completions with `MORE`. */
  multishot: boolean
  /** connect: 0 before the syscall, 1 once EINPROGRESS; buffer-select receives: dry-group waits in a row (`dryGroup`). */
  stage: number
  /** poll: the events watched; timeout: the delay in ms. */
  events: number
  /** readv/writev: the `struct iovec[]` built at start; splice: its two `loff_t` offsets. */
  iov: Buffer | null
  /** readv/writev: entries in {@link iov}. */
  iovCount: number
  /** Buffer-select receives: the group, resolved at start. */
  group: PollBufferGroup | null
  /** Multishot recvmsg: bytes reserved for the source address in each buffer. */
  nameSpace: number
  /** Multishot recvmsg: bytes reserved for control data in each buffer. */
  controlSpace: number
}

/** What the poll backend lends an op's poll form. */
export interface PollContext {
  /** The live group of this proactor behind `g`, or a TypeError. */
  group(g: BufferGroup): PollBufferGroup
  /** Ends every op pending on `fd` with `-ECANCELED` and drops its watcher (before a close). */
  dropFd(fd: number): void
}

/** An op's form on the poll backend. */
export interface PollForm<O> {
  /** Its route: a {@link PollRoute}. */
  readonly route: number
  /** The reactor queue it waits in (routes Fd and Socket). */
  readonly dir?: 'read' | 'write'
  /** The fd the op is listed under (for `close(fd)`, and the route's readiness); default `op.fd`, else -1. */
  fd?(op: O): number
  /** Fills the record's scratch at start; may throw for bad input (nothing is started then). */
  start?(op: O, rec: PollRecord, ctx: PollContext): void
  /** One non-blocking attempt (routes Fd, Socket): `WAIT`, `DONE` or `AGAIN` of `poll/attempt.ts`. */
  step?(op: O, rec: PollRecord, sink: Sink): number
  /** The blocking call on the threadpool (routes Fd, Pool, Gated); throws when koffi's queue is full. */
  blocking?(op: O, rec: PollRecord, cb: PoolCallback): void
  /** The result, at once (route Now). */
  now?(op: O, ctx: PollContext): number
}

/** Everything about one op kind. */
export interface OpSpec<O extends { readonly kind: string }> {
  /** The kind, as in the op's data. */
  readonly kind: O['kind']
  /** The io_uring opcode (`IORING_OP_*`): what `supports()` probes. -1: none (the raw op carries its own). */
  readonly opcode: number
  /** The op's name in an `IoError`. */
  readonly errorName: string
  /** Checks the data before anything starts; throws TypeError/RangeError at the call site. */
  check?(op: O): void
  /** Writes the SQE at word `w`; returns what must stay alive until the final completion. */
  uring(op: O, u: UringPrep, w: number): unknown
  /** The poll backend's form. */
  readonly poll: PollForm<O>
  /** The handle an `IoError` names: the fd, or the path. */
  handle(op: O): number | string | undefined
}
