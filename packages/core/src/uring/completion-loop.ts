/**
 * The submission/completion engine under the io_uring proactor: the
 * ring, its eventfd watched on Node's loop, the slots that map user_data to
 * completion targets, ref counting for the loop, batched submission
 * (flush/enter) and CQE dispatch. `uring-proactor.ts` extends it with
 * `start`, which has the op's spec (`ops/`) prepare its SQE and hands it to
 * {@link CompletionLoop.commit}.
 *
 * A base class rather than a member object: the per-operation path (take an
 * SQE, commit it, dispatch its CQE) reads these fields directly, with no extra
 * hop.
 *
 * @packageDocumentation
 */
import type { Completion, OpId, StartOptions } from '../proactor.js'
import { IoError } from '../errors.js'
import { EBUSY, ECANCELED } from '../sys/errno.js'
import { SlotTable } from '../slot-table.js'
import { close as sysClose, EFD_CLOEXEC, EFD_NONBLOCK, errno, eventfd, read } from '../sys/libc.js'
import { watchFd, type FdWatcher } from '../loop/fd-watcher.js'
import { IORING_CQE_F_MORE, IORING_REGISTER_EVENTFD, IOSQE_ASYNC, Op } from './abi.js'
import type { BufferRing } from './buffer-ring.js'
import { prepRw, setUserData } from './prep.js'
import { Ring, type RingOptions } from './ring.js'

/** Dispatch/submit rounds in one wakeup before yielding to the rest of the loop. */
const MAX_ROUNDS = 4
/** Inline deliveries from microtask flushes per loop turn (reset by each eventfd wakeup). */
const INLINE_BUDGET = 64
/**
 * Default {@link RingOptions.submitBatch}. Measured (random 4 KiB O_DIRECT
 * reads at depth 32, awaited): one enter per checkpoint left the device short
 * of work while ~16 Promise continuations ran (0.75x fio's reads/s); every 4
 * or 8 SQEs got 0.91–0.93x; every 16, 0.81x.
 */
const SUBMIT_BATCH = 8
/** user_data of internal SQEs whose CQE nobody waits for (cancels, NOPs): no slot has this index. */
export const IGNORED_SLOT = 0xffffffff
/** The kernel's internal `ERESTARTSYS` (include/linux/errno.h), never a userspace errno. */
const ERESTARTSYS = 512

/** The ring, its wakeups, submission and dispatch; subclasses add the operations. */
export abstract class CompletionLoop {
  readonly ring: Ring
  protected readonly slots = new SlotTable()
  /** Buffer rings registered on the ring: released with it. */
  protected readonly groups = new Map<number, BufferRing>()
  /** iovecs taken from the per-batch arena; freed once everything prepared was submitted. */
  protected iovUsed = 0
  protected _closed = false
  private readonly efd: number
  private readonly efdBuf = Buffer.alloc(8)
  private readonly watcher: FdWatcher
  private refd = new Uint8Array(256)
  private refs = 0
  /** Whether the watcher keeps the loop alive now; it follows `refs` lazily (see settleRef). */
  private watcherRefd = false
  /** Completions the microtask flush may still deliver inline before this loop turn yields. */
  private inlineBudget = INLINE_BUDGET
  private flushQueued = false
  private dispatching = false
  /** True while {@link flush} runs: it submits everything itself. */
  private flushing = false
  private readonly submitBatch: number
  /** Prepared SQEs that trigger the next early submission; doubles after each, back to `submitBatch` at the flush. */
  private submitAt: number
  private readonly preSubmit: (() => void)[] = []
  private readonly flushTask = (): void => this.flush()

  constructor(opts: RingOptions) {
    const batch = opts.submitBatch ?? SUBMIT_BATCH
    if (!Number.isInteger(batch) || batch < 0) throw new RangeError(`submitBatch must be an integer >= 0, got ${String(batch)}`)
    this.submitBatch = batch === 0 ? Infinity : batch
    this.submitAt = this.submitBatch
    this.ring = new Ring(opts)
    try {
      this.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)
      if (this.efd < 0) throw new IoError(errno(), 'eventfd')
      const arg = Buffer.alloc(4)
      arg.writeInt32LE(this.efd)
      this.ring.register(IORING_REGISTER_EVENTFD, arg, 1, 'register_eventfd')
      this.watcher = watchFd(this.efd, { readable: true }, () => this.onWake())
      this.watcher.unref()
    } catch (err) {
      this.ring.close()
      throw err
    }
  }

  get closed(): boolean {
    return this._closed
  }

  get pending(): number {
    return this.slots.live
  }

  beforeSubmit(task: () => void): void {
    this.checkOpen()
    this.preSubmit.push(task)
    this.queueFlush()
  }

  /** The word index of a free SQE, submitting first when the SQ is full. */
  protected sqe(): number {
    this.checkOpen()
    let w = this.ring.nextSqe()
    if (w < 0) {
      this.submitNow()
      w = this.ring.nextSqe()
      if (w < 0) throw new IoError(EBUSY, 'io_uring_enter', this.ring.fd, { message: 'submission queue full' })
    }
    return w
  }

  protected commit(w: number, c: Completion, keep: unknown, opts: StartOptions | undefined): OpId {
    const slot = this.slots.acquire(c, keep)
    setUserData(this.ring.sqe32, w, slot, this.slots.gen(slot))
    // sqe.flags is the second byte of the opcode word; the op's own prep may already have set some.
    if (opts?.async === true) this.ring.sqe32[w] |= IOSQE_ASYNC << 8
    if (slot >= this.refd.length) {
      const grown = new Uint8Array(this.refd.length * 2 > slot ? this.refd.length * 2 : slot + 1)
      grown.set(this.refd)
      this.refd = grown
    }
    const ref = opts?.ref !== false
    this.refd[slot] = ref ? 1 : 0
    if (ref && this.refs++ === 0 && !this.watcherRefd) {
      this.watcherRefd = true
      this.watcher.ref()
    }
    // Early submission (see RingOptions.submitBatch): the first few go to the
    // kernel at once, then ever larger batches (8, 16, 32… more), so a long
    // burst still costs few enters. Never inside a dispatch or a flush (both
    // submit what they prepared). NB: an SQE linked to the next (IOSQE_IO_LINK)
    // must reach the kernel in the same enter as it — ringio starts none today.
    if (this.ring.unsubmitted >= this.submitAt && !this.dispatching && !this.flushing) {
      this.submitAt *= 2
      this.enter(false) // EBUSY/EAGAIN: the flush reaps and retries
    }
    this.queueFlush()
    return this.slots.idOf(slot)
  }

  protected queueFlush(): void {
    if (this.flushQueued || this.dispatching) return
    this.flushQueued = true
    queueMicrotask(this.flushTask)
  }

  private flush(): void {
    this.flushQueued = false
    if (this._closed) return
    this.flushing = true
    this.submitAt = this.submitBatch
    try {
      this.runPreSubmit()
      this.submitNow()
    } finally {
      this.flushing = false
    }
    // What completed inline during that submit (a NOP, a send that fit, a read
    // of cached data) is delivered now rather than a loop turn later — up to a
    // budget per loop turn, so a chain of instant completions cannot starve I/O.
    if (this.inlineBudget <= 0 || this.ring.cqHead() === this.ring.cqTail()) return
    this.inlineBudget--
    this.deliver(false)
  }

  private runPreSubmit(): void {
    // Tasks may queue more tasks (and SQEs): run until none is left.
    for (let i = 0; i < this.preSubmit.length; i++) this.preSubmit[i]!()
    this.preSubmit.length = 0
  }

  /** One io_uring_enter; once everything prepared was submitted, the iovec arena is free again. */
  private enter(getEvents: boolean): number {
    const r = this.ring.submit(getEvents)
    if (this.ring.unsubmitted === 0) this.iovUsed = 0
    return r
  }

  /** Hands every prepared SQE to the kernel; reaps first if the kernel says the CQ is backed up. */
  private submitNow(): void {
    while (this.ring.unsubmitted > 0) {
      const r = this.enter(false)
      if (r < 0) {
        // EBUSY/EAGAIN: completions must be reaped before more can be submitted.
        this.enter(true)
        const err = this.dispatch()
        if (err !== undefined) queueMicrotask(() => { throw err })
      }
    }
  }

  private onWake(): void {
    if (this._closed) return
    read(this.efd, this.efdBuf, 8) // reset the eventfd before reaping: a later post wakes us again
    this.inlineBudget = INLINE_BUDGET // a new loop turn
    this.deliver(true)
  }

  /**
   * One delivery pass: (with `getEvents`, an enter that runs task work first,)
   * then {@link pump}. Errors thrown by targets are rethrown after the pass.
   */
  private deliver(getEvents: boolean): void {
    this.dispatching = true
    let first: unknown = undefined
    try {
      if (getEvents && this.enter(true) < 0) this.enter(true)
      first = this.pump()
    } finally {
      this.dispatching = false
      if (this._closed) this.release()
      else this.settleRef()
    }
    if (first !== undefined) throw first
  }

  /**
   * Dispatches what is in the CQ, then submits what the callbacks queued, a
   * few rounds. Returns the first error a target threw. Runs with
   * `dispatching` set, so starts inside callbacks queue no microtask flush.
   */
  private pump(): unknown {
    let first: unknown = undefined
    for (let round = 0; round < MAX_ROUNDS && !this._closed; round++) {
      first ??= this.dispatch()
      if (this._closed) return first
      this.runPreSubmit()
      // Completions that overflowed the CQ wait in the kernel for the next GETEVENTS.
      if (this.ring.unsubmitted === 0 && !this.ring.cqOverflowed()) break
      // One enter submits what the callbacks queued and runs task work, so
      // what completes inline (a send that fit the socket buffer) is reaped in
      // this wakeup rather than the next. The eventfd is not read here: under
      // DEFER_TASKRUN its signal means "task work pending", which only an
      // enter with GETEVENTS turns into CQEs.
      if (this.enter(true) < 0) this.submitNow()
      if (this.ring.cqHead() === this.ring.cqTail()) break
    }
    if (!this._closed) {
      this.runPreSubmit()
      this.submitNow()
    }
    return first
  }

  /** Delivers every posted CQE. Returns the first error a target threw (after delivering the rest). */
  private dispatch(): unknown {
    const ring = this.ring
    const cq32 = ring.cq32
    const cqI32 = ring.cqI32
    const mask = ring.cqMask
    const base = ring.cqesWord
    let first: unknown = undefined
    let head = ring.cqHead()
    let tail = ring.cqTail()
    while (head !== tail) {
      while (head !== tail) {
        const e = base + ((head & mask) << 2)
        const slot = cq32[e]!
        const gen = cq32[e + 1]!
        let res = cqI32[e + 2]!
        const flags = cq32[e + 3]!
        head = (head + 1) >>> 0
        // Kernel behaviour (6.18): an op the kernel runs in an io-wq worker
        // (SPLICE always is) and that blocks there — an empty or full pipe —
        // completes with -ERESTARTSYS (-512), a kernel-internal code with no
        // errno name, when ASYNC_CANCEL interrupts the worker. It only means
        // "interrupted by the cancel": report the contract's -ECANCELED.
        if (res === -ERESTARTSYS) res = -ECANCELED
        const target = this.slots.lookup(slot, gen)
        if (target === null) continue
        if ((flags & IORING_CQE_F_MORE) === 0) this.finish(slot)
        try {
          target.complete(res, flags)
        } catch (err) {
          if (first === undefined) first = err
        }
        // A target may close the proactor: the ring's memory must not be touched after.
        if (this._closed) return first
      }
      // Release what we read before looking for more.
      ring.cqAdvance(head)
      tail = ring.cqTail()
    }
    return first
  }

  private finish(slot: number): void {
    // The unref waits for the end of the dispatch (settleRef): an await loop
    // takes the count 1 → 0 → 1 each round trip, and each ref()/unref() is a koffi call.
    if (this.refd[slot] === 1) this.refs--
    this.slots.release(slot)
  }

  /** Lets the process exit once nothing referenced is pending. */
  private settleRef(): void {
    if (this.refs === 0 && this.watcherRefd && !this._closed) {
      this.watcherRefd = false
      this.watcher.unref()
    }
  }

  protected checkOpen(): void {
    if (this._closed) throw new Error('ringio: the io_uring proactor is closed')
  }

  /** Frees the kernel objects: the watcher, buffer rings, the ring (which cancels what is in flight) and the eventfd. */
  protected release(): void {
    this.watcher.close()
    for (const g of [...this.groups.values()]) g.close()
    this.ring.close()
    sysClose(this.efd)
  }

  /**
   * At shutdown, the SQEs prepared this turn and not yet entered may be
   * CLOSEs of fds their owners already let go of (a listener unsubscribed
   * just before, in the same turn or from inside a completion): dropped with
   * the ring, those fds would stay open — and a listening socket would keep
   * taking connections. So the CLOSEs are handed to the kernel. Everything
   * else becomes a NOP first: a send must not really go out while its target
   * is told -ECANCELED. Best effort: a ring the kernel refuses now is
   * released all the same.
   */
  private submitCloses(): void {
    if (this.ring.unsubmitted === 0) return
    const sqe32 = this.ring.sqe32
    this.ring.forEachUnsubmitted((w) => {
      if ((sqe32[w]! & 0xff) === Op.CLOSE) return
      prepRw(sqe32, w, Op.NOP, -1, 0, 0, 0)
      setUserData(sqe32, w, IGNORED_SLOT, 0)
    })
    try {
      this.enter(false)
    } catch {
      // The ring is going away: its fd's close cancels what it held.
    }
  }

  protected shutdownAll(): void {
    if (this._closed) return
    this._closed = true
    this.submitCloses()
    // Inside a dispatch the ring is still being read: it is released when the dispatch ends.
    if (!this.dispatching) this.release()
    const live = [...this.slots.liveTargets()]
    for (const [slot] of live) this.finish(slot)
    let first: unknown = undefined
    for (const [, target] of live) {
      try {
        target.complete(-ECANCELED, 0)
      } catch (err) {
        first ??= err
      }
    }
    if (first !== undefined) throw first
  }
}
