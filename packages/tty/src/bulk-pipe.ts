/**
 * Bulk writes into a pipe through a private, non-blocking description of
 * that pipe, tried synchronously with a short spin when the pipe is full —
 * the shared description is left exactly as it was. Where transparent huge
 * pages are available the bytes are handed over with `vmsplice` from a
 * staging region (`splice-stage.ts`: one copy, made outside the pipe's lock;
 * ~1.5x `process.stdout.write` into `cat > /dev/null`), elsewhere with
 * `writev`.
 *
 * Why not the ring: io_uring completes a WRITE to a pipe one pipe-full (64
 * KiB) at a time — tried non-blocking, poll-armed when full, completed short
 * — and `IOSQE_ASYNC` changes nothing (the kernel's worker also poll-arms a
 * pollable file; measured on 6.18). Each pipe-full then costs a wakeup of the
 * JS thread. Why not wait for POLLOUT either (libuv's way): the reader's
 * wakeup of an epoll waiter comes late, ~20 µs after a drain that took ~10 µs,
 * so a writer that waits after every pipe-full reached ~0.6x
 * `process.stdout.write` into `cat > /dev/null`. A writer that retries at
 * once, yielding the CPU between tries (`sched_yield`), finds the pipe drained
 * within a few tries. Only after `SPIN_TRIES` empty tries does a write wait:
 * on the next loop turns, then for POLLOUT through the proactor — a reader
 * that stalls costs a bounded spin, then nothing.
 *
 * Once the private description is open, every write to the pipe takes it
 * (not only bulk ones): the writes between two bulk ones stay in order behind
 * the staged bytes and do not fall back to the ring. (Completing a write
 * short each time the pipe filled, so the producer could refill sooner, was
 * tried: 0.9x into `cat`, 0.75x behind a slow reader.)
 *
 * The private description is opened from `/proc/self/fd/N` (DESIGN.md
 * principle 3's fallback): O_NONBLOCK on it changes nothing the parent shell
 * or a sibling shares. It is closed as soon as no bulk write is pending, so a
 * program that closes fd 1 to signal EOF to its reader still can.
 *
 * One write at a time (the writer's queue has at most one in flight), held in
 * this object's own fields: a bulk write allocates nothing here but its
 * iovec view, and needs no id — its writer's sink (`output-sink.ts`) knows
 * whether the write it cancels is here or on the ring.
 *
 * # Cancel safety
 * `cancel` of a write waiting for room completes it with `-ECANCELED`; part
 * of its bytes may already be in the pipe (as with any interrupted write).
 * `process.exit()` does not wait for a pending bulk write (its bytes are
 * lost, like the ring's pending writes), so it never hangs.
 *
 * @packageDocumentation
 * @internal
 */
import { closeSync, constants } from 'node:fs'
import { addressOf, EAGAIN, ECANCELED, EINTR, EINVAL, ENOSYS, EPERM, libc, PollEvents, type Completion, type OpId, type PollOp, type Proactor } from '@ringio/core/transport'
import { errno, schedYield } from './libc.js'
import { reopenPrivate } from './private-description.js'
import { SpliceStage } from './splice-stage.js'

const TWO32 = 2 ** 32
const PAGE = 4096
const resolved = Promise.resolve()
/** Empty tries (each after a `sched_yield`) before a write waits. */
const SPIN_TRIES = 64
/** Loop turns a write retries on before it waits for POLLOUT. */
const RETRY_TURNS = 2
/** iovecs per writev: the write queue coalesces at most 64 buffers. */
const MAX_IOV = 64
const NONE: readonly Uint8Array[] = []

/** Writes of at least this many bytes take the private description: twice a default pipe's capacity (64 KiB). */
export const DEFAULT_BULK_THRESHOLD = 128 * 1024

/** Options of a {@link BulkPipe}. */
export interface BulkPipeOptions {
  /** The smallest write that takes the private description. Default {@link DEFAULT_BULK_THRESHOLD}. */
  threshold?: number
  /** Hand bytes over with `vmsplice` from a huge-page stage where THP allows (`splice-stage.ts`). Default true; false always copies with `writev`. */
  splice?: boolean
}

/**
 * Bulk writes to one pipe (at its position) through a private, non-blocking
 * description of it. Where that cannot be opened (no `/proc`, `EACCES`, a
 * FIFO whose reader left: `ENXIO`), {@link start} declines and the caller
 * writes through the proactor, which reports the real error.
 *
 * It is the target of its own POLLOUT waits (a {@link Completion}).
 *
 * ## Example
 * ```ts
 * const bulk = new BulkPipe(getProactor(), fd)
 * if (!bulk.start(bufs, target)) getProactor().start({ kind: 'writev', fd, bufs, offset: -1 }, target)
 * ```
 */
export class BulkPipe implements Completion {
  private readonly threshold: number
  private pfd = -1
  /** The POLLOUT wait on the private description, as data (one at a time: reused). */
  private readonly pollOp: PollOp = { kind: 'poll', fd: -1, events: PollEvents.OUT, multishot: false }
  private idleQueued = false
  private readonly iov = new Uint8Array(MAX_IOV * 16)
  private readonly iov32 = new Uint32Array(this.iov.buffer)
  /** Most bytes one writev can move: the pipe's capacity (what a reader drains at once). */
  private capacity = 65536
  /** Zero-copy staging; null where huge pages are unavailable (then writev); undefined until the first bulk write. */
  private stage: SpliceStage | null | undefined

  // The write in flight: its target, buffers, and where it has got to.
  private active = false
  private target: Completion | null = null
  private bufs: readonly Uint8Array[] = NONE
  /** Buffer index and offset of the next byte to write. */
  private at = 0
  private off = 0
  private written = 0
  private total = 0
  private turns = 0
  private immediate: NodeJS.Immediate | null = null
  /** A settle is queued (with `result`): nothing more happens to this write. */
  private settling = false
  private result = 0
  /** The write waits for the poll in flight. */
  private waiting = false
  /** A POLLOUT poll is in flight (`pollId`); `stalePoll`: the write it was for was cancelled. */
  private polling = false
  private stalePoll = false
  private pollId: OpId = -1
  private readonly runTask = (): void => this.run()
  private readonly settleTask = (): void => this.finish(this.result)
  private readonly closeIfIdle = (): void => {
    this.idleQueued = false
    if (!this.active && this.pfd >= 0) {
      closeSync(this.pfd)
      this.pfd = -1
      this.stage?.idle()
    }
  }

  /**
   * @param p the proactor (for POLLOUT waits on the private description)
   * @param fd the pipe
   * @param opts threshold, and whether to splice
   */
  constructor(
    private readonly p: Proactor,
    readonly fd: number,
    private readonly opts: BulkPipeOptions = {},
  ) {
    this.threshold = opts.threshold ?? DEFAULT_BULK_THRESHOLD
  }

  /**
   * Starts writing `bufs` through the private description when it is open
   * already (every write then takes it, so writes stay in order) or the
   * write is at least the threshold; `c` then completes once, later (bytes
   * written, or `-errno`). False: not taken, write through the proactor.
   * One write at a time: the caller waits for `c` before the next.
   */
  start(bufs: readonly Uint8Array[], c: Completion): boolean {
    if (this.active) throw new Error('BulkPipe: one write at a time')
    const total = byteLength(bufs)
    if ((this.pfd < 0 && total < this.threshold) || !this.open()) return false
    this.active = true
    this.settling = false
    this.target = c
    this.bufs = bufs
    this.at = this.off = this.written = this.turns = 0
    this.total = total
    this.run()
    return true
  }

  /** Cancels the write in flight, if any: it completes with `-ECANCELED` (unless it is completing already). */
  cancel(): void {
    if (!this.active || this.settling) return
    if (this.immediate !== null) clearImmediate(this.immediate)
    this.immediate = null
    if (this.waiting) {
      this.waiting = false
      this.stalePoll = true
      this.p.cancel(this.pollId)
    }
    this.settleSoon(-ECANCELED)
  }

  /** Closes the private description now (after the writer's last write settled). Idempotent. */
  close(): void {
    if (this.active) return
    if (this.pfd >= 0) closeSync(this.pfd)
    this.pfd = -1
    this.stage?.close()
    this.stage = undefined
  }

  /** The POLLOUT wait's completion. */
  complete(res: number): void {
    this.polling = false
    if (this.stalePoll) {
      // Its write was cancelled; a later one may be waiting on it: try that one again.
      this.stalePoll = false
      if (this.waiting) {
        this.waiting = false
        this.run()
      }
      return
    }
    if (!this.waiting) return
    this.waiting = false
    if (res < 0) this.finish(this.written > 0 ? this.written : res)
    else this.run()
  }

  private open(): boolean {
    if (this.pfd < 0) {
      this.pfd = reopenPrivate(this.fd, constants.O_WRONLY)
      if (this.pfd >= 0) this.capacity = Math.max(libc.pipeCapacity(this.pfd), 4096)
      if (this.pfd >= 0 && this.stage === undefined) this.stage = this.opts.splice === false ? null : SpliceStage.create(this.capacity)
    }
    return this.pfd >= 0
  }

  private finish(res: number): void {
    if (!this.active) return
    this.active = false
    // Staged bytes belong to this write's stream position; if it ends short,
    // whatever comes next re-stages from its own buffers.
    if (res !== this.total) this.stage?.discard()
    const c = this.target!
    this.target = null
    this.bufs = NONE
    if (!this.idleQueued) {
      this.idleQueued = true
      setImmediate(this.closeIfIdle).unref()
    }
    c.complete(res, 0)
  }

  /**
   * Fills the iovec array from the write's cursor, with at most a pipe-full
   * of bytes (more cannot go in one try); returns the entry count.
   */
  private fill(): number {
    const { bufs, iov32 } = this
    let n = 0
    let bytes = 0
    for (let i = this.at; i < bufs.length && n < MAX_IOV && bytes < this.capacity; i++) {
      const b = bufs[i]!
      const skip = i === this.at ? this.off : 0
      const len = b.length - skip
      if (len === 0) continue
      const a = addressOf(b) + skip
      iov32[n * 4] = a % TWO32
      iov32[n * 4 + 1] = Math.floor(a / TWO32)
      iov32[n * 4 + 2] = len
      iov32[n * 4 + 3] = 0
      bytes += len
      n++
    }
    return n
  }

  private advance(r: number): void {
    this.written += r
    let left = r
    while (left > 0) {
      const room = this.bufs[this.at]!.length - this.off
      if (left < room) {
        this.off += left
        return
      }
      left -= room
      this.at++
      this.off = 0
    }
  }

  /** One non-blocking try at the next bytes: bytes taken (> 0) or `-errno` (a try that took nothing counts as EAGAIN). */
  private tryOnce(): number {
    let r: number
    const stage = this.stage
    // Less than a page goes by writev: the pipe merges it into its last page,
    // where a handed-over page would take a slot of its own (16 in a pipe).
    if (stage?.active && (stage.holding || this.total - this.written >= PAGE)) {
      r = stage.push(this.pfd, this.bufs, this.at, this.off)
      if (r === -EPERM || r === -ENOSYS || r === -EINVAL) {
        stage.retire() // vmsplice refused (seccomp, an emulated kernel): write instead
        r = this.writev()
      }
    } else r = this.writev()
    return r === 0 ? -EAGAIN : r
  }

  private writev(): number {
    const r = libc.writev(this.pfd, this.iov, this.fill())
    return r < 0 ? -errno() : r
  }

  /** Writes until done, spinning briefly on a full pipe; then waits a turn or two, then for POLLOUT. */
  private run(): void {
    this.immediate = null
    if (!this.active || this.settling) return
    let empty = 0
    while (this.written < this.total) {
      const r = this.tryOnce()
      if (r > 0) {
        this.advance(r)
        empty = 0
        continue
      }
      const e = -r
      if (e === EINTR) continue
      if (e !== EAGAIN) return this.settleSoon(this.written > 0 ? this.written : -e)
      if (++empty < SPIN_TRIES) {
        schedYield()
        continue
      }
      if (this.turns++ < RETRY_TURNS) this.immediate = setImmediate(this.runTask)
      else {
        this.turns = 0
        this.waiting = true
        // A poll still in flight for a cancelled write serves this one (its completion runs it).
        if (!this.polling) {
          this.polling = true
          this.pollOp.fd = this.pfd
          this.pollId = this.p.start(this.pollOp, this)
        }
      }
      return
    }
    // Never inside the call that started the write: the proactor's contract.
    this.settleSoon(this.written)
  }

  /** Completes the write with `res` on a microtask (cheaper than `queueMicrotask`, which makes an AsyncResource per call). */
  private settleSoon(res: number): void {
    this.settling = true
    this.result = res
    void resolved.then(this.settleTask)
  }
}

function byteLength(bufs: readonly Uint8Array[]): number {
  let n = 0
  for (const b of bufs) n += b.length
  return n
}
