/**
 * The Proactor contract: what both backends (io_uring in `uring/`, the
 * readiness reactor in `poll/`) implement, and what `net`, `fs`, `tty` and
 * third-party transports build on. An operation is data (an {@link Op}, see
 * `ops/`); it is *started* with a {@link Completion} target, and its
 * completions are delivered to that target on Node's own event-loop thread.
 *
 * Results follow the kernel's convention everywhere: `res >= 0` is success,
 * `res < 0` is `-errno`. Flags are `IORING_CQE_F_*` on both backends (the poll
 * backend synthesises them), so the layers above have one code path.
 *
 * @packageDocumentation
 */
import type { BufferGroup } from './buffer-group.js'
import type { Completion, OpId, StartOptions } from './completion.js'
import type { Op, OpKind } from './ops/op.js'

export type { BufferGroup } from './buffer-group.js'
export type { Completion, OpId, StartOptions } from './completion.js'

/** The name of a backend. */
export type BackendName = 'uring' | 'poll'

/**
 * The proactor: one per Node environment (main thread or Worker). Five
 * things: start an op, cancel it, probe what is supported, the shared
 * buffer groups, and shutdown — plus `beforeSubmit` (the batch point) and
 * `socket` (which blocking mode a new socket needs here).
 *
 * `start` returns at once; the target's `complete` runs later on the loop,
 * never synchronously inside the call. The op object and the buffers it
 * names stay referenced by the proactor until the final completion, so the
 * caller need not keep them alive — but must not modify them before then.
 *
 * ## Example
 * ```ts
 * const p = getProactor()
 * const op: ReadOp = { kind: 'read', fd, buf: Buffer.alloc(4096), offset: -1 }
 * const id = p.start(op, { complete: (res) => console.log(res < 0 ? errnoName(-res) : `${res} bytes`) })
 * p.cancel(id) // the target then completes with -ECANCELED (or its real result, if it won the race)
 * ```
 */
export interface Proactor {
  /** Which backend this is. */
  readonly backend: BackendName
  /** True once {@link shutdown} ran. Starting an operation then throws. */
  readonly closed: boolean
  /** Operations started and not finally completed. */
  readonly pending: number

  /**
   * Whether `op` can be started here: an {@link OpKind}, or (io_uring only)
   * a raw io_uring opcode number for a `raw` op — probed from the running kernel.
   */
  supports(op: OpKind | number): boolean

  /**
   * Starts `op`; its completions go to `c` (see {@link Completion}). Returns
   * the id to cancel it by.
   *
   * Bad data (not a buffer, a path without its NUL, a group of another
   * proactor…) throws a TypeError or RangeError here, the same on both
   * backends, and nothing is started. So does starting after shutdown, and,
   * on the poll backend, a `raw` op (`IoError` ENOSYS). Everything the kernel
   * says is a completion: `-EBADF`, `-ECONNREFUSED`…
   */
  start(op: Op, c: Completion, opts?: StartOptions): OpId

  /**
   * Asks the kernel to cancel `id`. Asynchronous: the operation's own target
   * then completes with `-ECANCELED`, or with its real result if it won the race.
   * Unknown or finished ids are ignored.
   */
  cancel(id: OpId): void

  /**
   * Runs `task` just before the next batch of SQEs goes to the kernel: at the
   * end of the completion dispatch in progress, or in this turn's microtask
   * flush. Lets a write queue coalesce every write of a turn into one
   * operation and still ride in the same `io_uring_enter`.
   */
  beforeSubmit(task: () => void): void

  /** A new shared read-buffer pool of `count` buffers (a power of two) of `size` bytes. */
  bufferGroup(count: number, size: number): BufferGroup

  /**
   * Creates a socket owned by ringio, with the blocking mode this backend needs
   * (blocking for io_uring, so the kernel arms its own poll; non-blocking for the
   * reactor). Synchronous; returns the fd or throws `IoError`.
   */
  socket(domain: number, type: number, protocol: number): number

  /**
   * Shuts the backend down: pending operations are cancelled (their targets
   * see `-ECANCELED`), every fd and mapping it owns is released. Idempotent.
   */
  shutdown(): void
}
