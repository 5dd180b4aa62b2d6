/**
 * What a {@link WriteQueue} writes through: the few proactor members it uses.
 * The proactor is one as it is (sockets, files: `net`, `fs` pass it); a
 * transport with its own way of getting bytes to an fd (tty's stdout, which
 * retries EAGAIN on a shared description and hands big pipe writes to
 * `vmsplice`) implements it directly, in plain code, instead of wrapping the
 * proactor.
 *
 * @packageDocumentation
 */
import type { Completion, OpId, StartOptions } from './completion.js'
import type { SendOp } from './ops/send.js'
import type { WriteOp } from './ops/write.js'
import type { WritevOp } from './ops/writev.js'

/**
 * The part of the `Proactor` a {@link WriteQueue} needs: start a write op
 * (`write`, `writev`, or `send` for sockets) that completes its target once,
 * later, never inside the call; `cancel` an id this sink returned; run a task
 * before the next submission (`beforeSubmit`); `closed`. Every `Proactor` is
 * one, with no wrapper and no allocation per write.
 *
 * An id means something only to the sink that returned it: the queue hands it
 * back to that sink's `cancel` and to nothing else, so a sink may number its
 * operations its own way (it must never return -1, the queue's "none").
 *
 * ## Example
 * ```ts
 * const q = new WriteQueue(getProactor(), fd, { kind: 'stream' }) // the proactor is a WriteSink
 * ```
 *
 * Errors are results, as on the proactor: a failed write completes its target
 * with `-errno`, which the queue turns into an `IoError`. After `cancel(id)`
 * the target still completes once: with `-ECANCELED`, or the real result if
 * the write won the race.
 */
export interface WriteSink {
  /** Starts a write op (the sink may read it until the op's completion); returns an id for {@link cancel}, never -1. */
  start(op: WriteSinkOp, c: Completion, opts?: StartOptions): OpId
  /** Cancels `id`; the target still completes once. */
  cancel(id: OpId): void
  /** Runs `task` before the next submission. */
  beforeSubmit(task: () => void): void
  /** True once the sink cannot start anything. */
  readonly closed: boolean
}

/** The ops a {@link WriteSink} starts. */
export type WriteSinkOp = WriteOp | WritevOp | SendOp
