/**
 * Runs the poll backend's operations to their completions: the op records
 * and their slots, the route of each op (the readiness reactor for O_NONBLOCK
 * fds, the threadpool for the rest, or a timer), the callbacks `readiness.ts`
 * and each op's attempt make ({@link ReadyDriver}, {@link Sink}), and in-order
 * delivery through the {@link CompletionQueue}. `poll-proactor.ts` extends it
 * with `start`, which follows each op's route.
 *
 * A base class rather than a member object: starting an op and finishing it
 * read these fields directly, with no extra hop.
 *
 * @packageDocumentation
 */
import type { Completion, OpId, StartOptions } from '../completion.js'
import type { Op } from '../ops/op.js'
import type { OpSpec } from '../ops/op-spec.js'
import { SlotTable } from '../slot-table.js'
import type { Sink } from './attempt.js'
import { CompletionQueue } from './completion-queue.js'
import { PollOpRecord, State } from './op.js'
import { PollableProbe } from './pollable.js'
import { isPoolFull, poolGate, type PoolClient } from './pool-gate.js'
import { Readiness, type Direction, type ReadyDriver } from './readiness.js'
import { SharedReadiness } from './shared-readiness.js'
import { IORING_CQE_F_MORE } from '../uring/abi.js'
import * as sys from './sys.js'
import { nonBlocking } from '../sys/fd-flags.js'
import { ECANCELED } from '../sys/errno.js'
import { runBlocking } from './threadpool.js'
import type { PoolCallback } from './attempt.js'


/** Op records, their routes and their completions; subclasses add the operations. */
export abstract class OpRunner implements ReadyDriver, Sink, PoolClient {
  protected closedFlag = false
  protected readonly shared = new SharedReadiness((slot) => this.handOff(slot))
  protected readonly table = new SlotTable()
  protected readonly ops: PollOpRecord[] = []
  // One callback per slot, made once: a threadpool op or timer keeps its slot until its final completion.
  private readonly poolCbs: PoolCallback[] = []
  protected readonly timerCbs: (() => void)[] = []
  protected readonly queue = new CompletionQueue((s, g, r, f) => this.deliver(s, g, r, f))
  protected readonly readiness = new Readiness(this.ops, this, this.shared)
  protected readonly probe = new PollableProbe()
  /** A receive found its group dry while completions waited: deliver them at the next fd event (`relieve`). */
  private starved = false

  // ---- ReadyDriver & Sink (called by readiness.ts and the ops' attempts) ----

  /** @internal */
  step(slot: number): number {
    const rec = this.ops[slot]!
    return rec.spec!.poll.step!(rec.op!, rec, this)
  }

  /** A shared fd's gated read became ready: it runs on the threadpool now. */
  private handOff(slot: number): void {
    const op = this.ops[slot]!
    op.gate = false
    if (op.cancelAsked || this.closedFlag) return this.finish(slot, -ECANCELED, 0)
    this.blocking(slot)
  }

  /**
   * @internal {@link PoolClient}: the pool gate has room for the op queued as
   * (slot, gen). Stale when the op finished while it waited (cancel, close of
   * its fd, shutdown) — and maybe its slot was reused since.
   */
  launch(slot: number, gen: number): boolean {
    const op = this.ops[slot]!
    if (this.table.gen(slot) !== gen || !op.queued || op.state !== State.Waiting) return false
    op.queued = false
    op.state = State.Pool
    try {
      runBlocking(op, (this.poolCbs[slot] ??= (err, r) => this.poolDone(slot, err, r)))
    } catch (e) {
      if (isPoolFull(e)) {
        // Waits again, first in line (the gate's contract): undo the state change.
        op.queued = true
        op.state = State.Waiting
        throw e
      }
      // Not koffi's queue: a call we cannot make (a bug). Fail the op, report the error, free the place.
      this.readiness.remove(slot)
      this.finish(slot, -sys.EINVAL, 0)
      queueMicrotask(() => {
        throw e
      })
      return false
    }
    return true
  }

  /** @internal */
  firePoll(slot: number, revents: number): boolean {
    if (this.ops[slot]!.multishot) {
      this.more(slot, revents, 0)
      return false
    }
    this.finish(slot, revents, 0)
    return true
  }

  /** @internal */
  fail(slot: number, res: number): void {
    const op = this.ops[slot]!
    if (op.state === State.Pool) op.cancelAsked = true
    else if (op.state !== State.Done) this.finish(slot, res, 0)
  }

  /** @internal */
  pollable(fd: number): number {
    return this.probe.check(fd)
  }

  /** @internal */
  finish(slot: number, res: number, flags: number): void {
    this.ops[slot]!.state = State.Done
    this.queue.push(slot, this.table.gen(slot), res, flags)
  }

  /** @internal */
  starve(): boolean {
    if (this.queue.length === 0) return false
    this.starved = true
    return true
  }

  /** @internal */
  relieve(): void {
    if (!this.starved) return
    this.starved = false
    this.queue.flush()
  }

  /** @internal */
  more(slot: number, res: number, flags: number): void {
    this.queue.push(slot, this.table.gen(slot), res, flags | IORING_CQE_F_MORE)
  }

  // ---- internals ----

  protected assertOpen(): void {
    if (this.closedFlag) throw new Error('ringio: the poll proactor is closed')
  }

  /** Takes a slot and record for `op`; the op itself is the slot's keep (it holds its buffers). */
  protected begin(op: Op, spec: OpSpec<Op>, fd: number, c: Completion, opts: StartOptions | undefined): number {
    this.assertOpen()
    const slot = this.table.acquire(c, op)
    const rec = (this.ops[slot] ??= new PollOpRecord(slot))
    rec.reset(op, spec, fd, opts?.ref !== false)
    return slot
  }

  /** Reactor for O_NONBLOCK fds, threadpool for the rest — F_GETFL only reads the description's flags. */
  protected dispatch(slot: number, dir: Direction): OpId {
    const fd = this.ops[slot]!.fd
    // An fd with a libuv poll handle is non-blocking (uv_poll_init made it so, and
    // only fds ringio owns get one): skip the fcntl, a koffi call and a syscall
    // per op — a socket's writev of a busy write queue is one (issue 18).
    const nb = this.readiness.watching(fd) || nonBlocking(fd)
    if (typeof nb === 'number') this.finish(slot, nb, 0) // EBADF and the like
    else if (nb) this.readiness.submit(slot, dir)
    else if (dir === 'read' && this.gateRead(slot)) return this.table.idOf(slot)
    else return this.blocking(slot)
    return this.table.idOf(slot)
  }

  /**
   * A read on a blocking fd that epoll can watch (shared pipe, FIFO, TTY) first
   * waits for data in the private epoll set — cancellable, and no flag of the
   * fd changes — so no threadpool worker sits blocked in read(2). False: the
   * fd cannot be polled (a regular file): read it on the threadpool directly.
   */
  protected gateRead(slot: number): boolean {
    const op = this.ops[slot]!
    if (this.shared.wait(slot, op.fd, op.ref) !== 0) return false
    op.gate = true
    op.state = State.Waiting
    return true
  }

  /**
   * Runs the op on the threadpool, through the environment's pool gate: at
   * once when koffi's budget has room, else queued FIFO (state `Waiting`,
   * `queued`), where cancel, `close(fd)` and shutdown end it at once.
   */
  protected blocking(slot: number): OpId {
    const op = this.ops[slot]!
    op.state = State.Waiting
    op.queued = true
    this.readiness.track(slot)
    poolGate.submit(this, slot, this.table.gen(slot))
    return this.table.idOf(slot)
  }

  private poolDone(slot: number, err: unknown, r: number): void {
    // First thing: koffi restored the worker's errno for this callback only.
    let res = err != null ? -sys.EINVAL : sys.result(r)
    poolGate.done()
    const op = this.ops[slot]!
    this.readiness.remove(slot)
    if (op.cancelAsked && res < 0) res = -ECANCELED
    // A multishot op on the threadpool (accept on a blocking listener) goes on until its first error.
    if (op.multishot && res >= 0 && !op.cancelAsked && !this.closedFlag) {
      this.more(slot, res, 0)
      this.blocking(slot)
      return
    }
    this.finish(slot, res, 0)
  }

  protected timerFired(slot: number): void {
    const op = this.ops[slot]!
    if (op.state !== State.Timer) return
    if (op.multishot) return this.more(slot, -sys.ETIME, 0)
    op.timer = null
    this.finish(slot, -sys.ETIME, 0)
  }

  private deliver(slot: number, gen: number, res: number, flags: number): void {
    const target = this.table.lookup(slot, gen)
    if (!target) return
    if ((flags & IORING_CQE_F_MORE) === 0) {
      // Free before calling: the target may start a new op, and `pending` must already count this one out.
      this.ops[slot]!.clear()
      this.table.release(slot)
    }
    target.complete(res, flags)
  }

  protected abandon(slot: number): void {
    const op = this.ops[slot]!
    if (op.state === State.Pool) {
      op.cancelAsked = true // completes when the worker returns
      return
    }
    if (op.state === State.Timer) clearTimeout(op.timer!)
    if (op.state !== State.Done) this.finish(slot, -ECANCELED, 0)
  }
}
