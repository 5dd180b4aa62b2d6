/**
 * What a tty writer's queue writes through: a core `WriteSink` in plain code
 * over the proactor, one per writer, that is the target of its own
 * operations (nothing is allocated per write). It does four things the bare
 * proactor does not.
 *
 * **Terminals write in a kernel worker** (`async`: io_uring `IOSQE_ASYNC`).
 * A terminal's write does not honour `IOCB_NOWAIT`: io_uring's inline attempt
 * goes ahead as soon as poll reports some room, then blocks in `n_tty_write`
 * — inside `io_uring_enter`, on the JS thread — until the terminal has taken
 * the whole buffer. A terminal that stops reading (Ctrl-S, a pager waiting
 * for a key, a stalled ssh session) then froze the event loop: no timer, no
 * signal handler, not even `exit({ timeout })` ran (measured on Linux 6.18
 * with 1 MiB to a PTY nobody read). With `IOSQE_ASYNC` a worker thread
 * blocks instead, and `cancel` interrupts it. Not for pipes: there the worker
 * tries non-blocking and poll-arms too, only adding a thread hop. The poll
 * backend ignores the hint (it writes a blocking fd on the threadpool).
 *
 * **EAGAIN becomes a wait.** A shared stdout may have been made non-blocking
 * by *another* process sharing the description (a sibling Node process
 * touching `process.stdout`). We may not clear the flag; the poll backend
 * already waits for readiness on such fds, but an io_uring kernel that
 * honours O_NONBLOCK for WRITE posts `-EAGAIN` instead of polling. Here that
 * `-EAGAIN` turns into a one-shot POLLOUT poll and the same write again, so
 * the queue only ever sees real results.
 *
 * **Bulk pipe writes** go to a {@link BulkPipe} (`bulk-pipe.ts`) when it
 * takes them.
 *
 * **EPIPE may end the process** (`onEpipe: 'exit'`, stdout's and stderr's
 * default): a `-EPIPE` result is reported to the writer first, and when the
 * writer takes it as the signal to exit, the completion goes no further —
 * the queue never learns of it, and the write's Promise never settles. A C
 * program's write to a pipe whose reader left never returns (SIGPIPE kills
 * it there), and code written for that — `for (…) await out.write(x)` at a
 * module's top level — must not run on into a stack trace while the exit
 * (status 141) is under way.
 *
 * The ids it returns are its own sequence numbers, meaningful only to its
 * own `cancel` (the queue hands them nowhere else); the proactor's ids stay
 * inside.
 *
 * @packageDocumentation
 * @internal
 */
import { EAGAIN, ECANCELED, EPIPE, PollEvents, type Completion, type OpId, type PollOp, type Proactor, type StartOptions, type WriteSink, type WriteSinkOp } from '@ringio/core/transport'
import type { BulkPipe } from './bulk-pipe.js'

const ASYNC: StartOptions = { async: true }

// Where the write in flight is (plain numbers, not a `const enum`: isolatedModules).
/** No write in flight. */
const IDLE = 0
/** A write/writev/send on the proactor (`inner`). */
const RING = 1
/** The POLLOUT wait (`inner`) after `-EAGAIN`. */
const POLL = 2
/** With the bulk pipe. */
const BULK = 3

/** Options of an {@link OutputSink}. */
export interface OutputSinkOptions {
  /** Writes run in a kernel worker (terminals and other character devices). */
  async?: boolean
  /** Bulk writes to the pipe go here when it takes them. */
  bulk?: BulkPipe | null
  /** Called on a `-EPIPE` result; true: the process is exiting, drop the completion. */
  onEpipe?: () => boolean
}

/**
 * A {@link WriteSink} for one output fd: one write at a time (what a write
 * queue issues), retried after POLLOUT on `-EAGAIN`, bulk pipe writes handed
 * to the {@link BulkPipe}, `-EPIPE` offered to `onEpipe` first.
 *
 * ## Example
 * ```ts
 * const sink = new OutputSink(getProactor(), { async: true })
 * const q = new WriteQueue(sink, fd, { kind: 'stream' })
 * ```
 */
export class OutputSink implements WriteSink, Completion {
  private at: number = IDLE
  /** The proactor's id of the write or poll in flight. */
  private inner: OpId = -1
  /** Our id of the write in flight (never -1). */
  private id = 0
  private cancelled = false
  private target: Completion | null = null
  /** The write in flight (the queue's op, lent until its completion): started again after POLLOUT. */
  private op: WriteSinkOp | null = null
  /** The POLLOUT wait, as data (one at a time: reused). */
  private readonly pollOp: PollOp = { kind: 'poll', fd: -1, events: PollEvents.OUT, multishot: false }
  /** A one-element array for a single buffer's bulk write (one write at a time: reused). */
  private readonly one: Uint8Array[] = []
  private readonly startOpts: StartOptions | undefined
  private readonly bulk: BulkPipe | null
  private readonly onEpipe: (() => boolean) | undefined

  /**
   * @param p the proactor
   * @param opts async writes, a bulk pipe, the EPIPE hook
   */
  constructor(
    private readonly p: Proactor,
    opts: OutputSinkOptions = {},
  ) {
    this.startOpts = opts.async === true ? ASYNC : undefined
    this.bulk = opts.bulk ?? null
    this.onEpipe = opts.onEpipe
  }

  /** The proactor's: true once it closed. */
  get closed(): boolean {
    return this.p.closed
  }

  /** The proactor's `beforeSubmit`. */
  beforeSubmit(task: () => void): void {
    this.p.beforeSubmit(task)
  }

  /** Starts a write, writev or send op; `c` completes once. One at a time (the queue's rule). */
  start(op: WriteSinkOp, c: Completion): OpId {
    // The write queue keeps one write in flight: a second one would lose the first's target.
    if (this.at !== IDLE) throw new Error('OutputSink: one write at a time')
    this.op = op
    this.target = c
    this.cancelled = false
    this.id = this.id === Number.MAX_SAFE_INTEGER ? 1 : this.id + 1
    this.attempt()
    return this.id
  }

  /**
   * Cancels the write `id` if it is the one in flight (else nothing): it
   * completes with `-ECANCELED`, or its real result if it won the race.
   */
  cancel(id: OpId): void {
    if (id !== this.id || this.at === IDLE || this.cancelled) return
    this.cancelled = true
    if (this.at === BULK) this.bulk!.cancel()
    else this.p.cancel(this.inner)
  }

  /** The completion of the proactor's write or poll, or of the bulk write. */
  complete(res: number, flags: number): void {
    switch (this.at) {
      case IDLE:
        return
      case RING:
        if (res === -EAGAIN && !this.cancelled) {
          this.at = POLL
          this.pollOp.fd = this.op!.fd
          this.inner = this.p.start(this.pollOp, this)
          return
        }
        break
      case POLL:
        // A failed or cancelled poll is the write's result (-ECANCELED after cancel).
        if (res >= 0 && !this.cancelled) return this.attempt()
        if (res >= 0) res = -ECANCELED
        flags = 0
        break
      case BULK:
        break
    }
    this.at = IDLE
    this.inner = -1
    this.op = null
    this.one.length = 0
    const c = this.target!
    this.target = null
    if (res === -EPIPE && this.onEpipe?.() === true) return
    c.complete(res, flags)
  }

  /** Starts (or, after POLLOUT, starts again) the write in flight. */
  private attempt(): void {
    const bulk = this.bulk
    const op = this.op!
    if (bulk !== null && op.kind !== 'send' && op.offset === -1 && op.fd === bulk.fd) {
      let bufs: readonly Uint8Array[]
      if (op.kind === 'writev') bufs = op.bufs
      else {
        this.one[0] = op.buf
        bufs = this.one
      }
      if (bulk.start(bufs, this)) {
        this.at = BULK
        return
      }
      this.one.length = 0
    }
    this.at = RING
    this.inner = this.p.start(op, this, this.startOpts)
  }
}
