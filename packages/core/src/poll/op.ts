/**
 * One started operation of the poll backend: the caller's op (data, lent
 * until the final completion), its kind's spec, and the backend's own state
 * and scratch. Records live in an array indexed by {@link SlotTable} slot and
 * are reused, so starting an operation allocates nothing once the table has
 * warmed up.
 *
 * @packageDocumentation
 */
import type { Op } from '../ops/op.js'
import type { OpSpec, PollRecord } from '../ops/op-spec.js'
import type { PollBufferGroup } from './buffer-group.js'

/** Where an operation is: which structure holds it, hence how `cancel` undoes it. */
export const State = {
  /** Being started. */
  Idle: 0,
  /**
   * Not running yet: in an fd's read/write/poll queue, waiting for readiness,
   * or (with {@link PollOpRecord.queued}) in the threadpool's FIFO, waiting for a
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

/** The record of one operation. */
export class PollOpRecord implements PollRecord {
  /** The caller's op; null between operations. */
  op: Op | null = null
  /** Its kind's spec. */
  spec: OpSpec<Op> | null = null
  /**
   * A read on a blocking but pollable fd (a shared pipe, FIFO, TTY): it waits
   * for readiness in the reactor first — where cancel works — and only then
   * goes to the threadpool, so an abort never leaves a worker stuck in read(2).
   */
  gate = false
  state = 0
  fd = -1
  iov: Buffer | null = null
  iovCount = 0
  events = 0
  multishot = false
  group: PollBufferGroup | null = null
  nameSpace = 0
  controlSpace = 0
  /** Keeps the process alive while pending. */
  ref = true
  stage = 0
  /** A cancel arrived while a threadpool call was running. */
  cancelAsked = false
  /** In the threadpool's FIFO (state `Waiting`), not started yet. */
  queued = false
  timer: NodeJS.Timeout | null = null

  /** @param slot the SlotTable slot this record belongs to, forever */
  constructor(readonly slot: number) {}

  /** Prepares the record for a new operation. */
  reset(op: Op, spec: OpSpec<Op>, fd: number, ref: boolean): void {
    this.op = op
    this.spec = spec
    this.gate = false
    this.state = 0
    this.fd = fd
    this.ref = ref
    this.iovCount = 0
    this.events = 0
    this.multishot = false
    this.nameSpace = 0
    this.controlSpace = 0
    this.stage = 0
    this.cancelAsked = false
    this.queued = false
  }

  /** Drops every reference, so a finished operation pins no caller memory. */
  clear(): void {
    this.op = null
    this.spec = null
    this.iov = null
    this.group = null
    this.timer = null
    this.state = 0
    this.queued = false
  }
}
