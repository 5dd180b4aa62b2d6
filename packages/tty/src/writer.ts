/**
 * An ordered writer for an output fd — stdout, stderr, or one you pass in —
 * over the core write queue, that never changes a shared description's flags.
 *
 * @packageDocumentation
 */
import { backend, EBADF, EPIPE, getProactor, IoError, libc, WriteQueue, type WriteData } from '@ringio/core/transport'
import { defer, EMPTY, type Observable } from 'rxjs'
import { BulkPipe } from './bulk-pipe.js'
import { exitOnEpipe } from './exit.js'
import { fdKind, type FdKind } from './fd-kind.js'
import { OutputSink } from './output-sink.js'

/** Options of a {@link Writer}. */
export interface WriterOptions {
  /**
   * `writableLength` at or above which `writable` is false and `ready()` waits.
   * Default 2 MiB: twice what the write queue coalesces into one writev
   * (1 MiB), so while one writev is with the kernel the next is already
   * queued, and a producer paced by `ready()` never leaves a pipe idle — on
   * the poll backend each blocking threadpool write then moves a whole MiB.
   */
  highWaterMark?: number
  /**
   * What the reader going away (`EPIPE`: `tool | head`) does.
   * - `'exit'` (the default for fds 1 and 2): the process ends quietly with
   *   status 141, as `cat` or `tr` do there (killed by SIGPIPE, which a shell
   *   reports as 128 + 13). Other writers are flushed first (for up to 2 s),
   *   `'exit'` handlers run (a raw terminal is restored), nothing is printed.
   *   As under SIGPIPE, nothing after the failed write runs on: from then on
   *   this writer's Promises — the pending writes, later writes, `ready()`,
   *   `flush()`, `end()` — never settle, so a `stdin({ pace })` stops reading
   *   and `await out.write(x)` in unguarded code neither throws nor prints.
   *   `exit()` called meanwhile also ends with 141.
   * - `'error'` (the default for every other fd): the failure is the
   *   program's to handle — every pending and later write, `flush()`,
   *   `end()` and `ready()` reject with the `IoError`, and a
   *   `stdin({ pace: () => w.ready() })` stream errors with it.
   *
   * Why 141 and not a quiet 0: a parent (`set -o pipefail`, `PIPESTATUS`)
   * must be able to tell that the output was cut short, and 141 is what it
   * already gets from every other tool in that place (Go programs, too, die
   * of SIGPIPE on fds 1 and 2). Why not a real SIGPIPE: a signal death skips
   * the `'exit'` handlers and drops what other writers (stderr) still hold.
   * Given on a later `stdout()`/`output()` call, it changes the existing
   * writer's setting.
   */
  onEpipe?: 'exit' | 'error'
}

/**
 * Writes to one fd, whole and in call order, through the proactor: io_uring
 * WRITE or, on the poll backend, blocking writes on the threadpool. The
 * shared description stays exactly as it was — never O_NONBLOCK, so a write
 * never fails with EAGAIN and the parent shell finds its terminal or pipe
 * unchanged. Per kind of fd:
 * - terminal or other character device: on io_uring the write runs in a
 *   kernel worker (a terminal's write may block even when tried
 *   non-blocking; it must not block the JS thread);
 * - pipe: writes of 128 KiB or more (what the queue coalesces while the pipe
 *   is full) go through a private non-blocking description of the same pipe,
 *   reopened from `/proc/self/fd/N` and closed again when idle, tried at once
 *   with a short spin while the reader drains (`bulk-pipe.ts`) — the bytes
 *   copied into a huge-page stage and handed to the pipe with `vmsplice`
 *   where THP is available (`splice-stage.ts`), else written; small writes
 *   take the proactor until a bulk write opened the private description;
 * - socket: send (MSG_NOSIGNAL); regular file: write at the shared position.
 *
 * Get one with `stdout()`, `stderr()` or `output(fd, { shared })`.
 *
 * # Errors
 * A write rejects with `IoError`: `EPIPE` when the reader went away (e.g.
 * `tool | head`; SIGPIPE is ignored by Node), `EBADF` for a closed fd, `ENOSPC`,
 * … A failure is final: every pending and later write rejects with the same
 * error at once (nothing more is queued), and so do `flush()`, `end()` and
 * `ready()`. A write you do not await never causes an unhandled rejection;
 * the failure still surfaces: `ready()` rejects (so a `stdin({ pace })`
 * stream errors with it), as does `flush()`. `EPIPE` on stdout or stderr
 * instead ends the process quietly with status 141, like `cat`, and this
 * writer's Promises never settle meanwhile — see {@link WriterOptions.onEpipe}
 * to handle it yourself.
 *
 * # Exit
 * Pending writes keep the process alive, so a process that ends on its own
 * (or sets `process.exitCode`) writes everything. `process.exit()` does not
 * wait: bytes not yet taken by the kernel are lost. Use `await flush()` first,
 * or `exit(code)` from this package, which flushes every writer, then exits.
 * One exception, on the poll backend only: a write to a shared terminal, or
 * one under 128 KiB to a shared pipe, is a blocking call on libuv's
 * threadpool, and `process.exit()` waits for that thread (libuv joins its
 * workers at exit) — while the reader does not read, until it goes away.
 */
export class Writer {
  private queue: WriteQueue | null = null
  /** The private description of a pipe, for bulk writes (pipes only). */
  private bulk: BulkPipe | null = null
  private failure: IoError | null = null
  /** The failure was EPIPE with `onEpipe: 'exit'`: the process is on its way out, this writer's Promises never settle. */
  private exiting = false
  private ended = false
  private tail: Promise<void> = Promise.resolve()
  /** `ready()` callers, released as soon as a settled write brings the queue below the mark. */
  private waiters: Waiter[] = []
  private readonly onSettled = (): void => {
    if (this.waiters.length === 0 || this.failure !== null || !(this.queue === null || this.queue.writable || this.queue.closed)) return
    const ws = this.waiters
    this.waiters = []
    for (const w of ws) w.resolve()
  }
  /** See {@link WriterOptions.onEpipe}; set from the options, changed by a later `output(fd, { onEpipe })`. */
  onEpipe: 'exit' | 'error'

  /**
   * @param fd the descriptor
   * @param shared true when the description may be shared (never changed); false when ringio may make it non-blocking
   * @param opts high-water mark
   */
  constructor(
    readonly fd: number,
    readonly shared: boolean,
    private readonly opts: WriterOptions = {},
  ) {
    this.onEpipe = opts.onEpipe ?? (fd === 1 || fd === 2 ? 'exit' : 'error')
  }

  /**
   * Queues `data` (bytes, a string as UTF-8, or an array of those written
   * contiguously). Returns at once; the Promise resolves when the kernel has
   * taken every byte. Buffers of up to 4 KiB are copied at call time; larger
   * ones must not be modified until the Promise settles.
   *
   * ## Example
   * ```ts
   * const out = stdout()
   * out.write('a'); out.write('b'); await out.write('c\n') // "abc", in order
   * ```
   * @throws TypeError at the call site for data of the wrong type
   * @returns rejects with `IoError` (`EPIPE`, `EBADF`, …); never settles
   *   once the process is exiting on `EPIPE` (see {@link WriterOptions.onEpipe})
   */
  write(data: WriteData): Promise<void> {
    if (this.failure !== null) return this.failed() // final: nothing more is queued
    if (this.ended && this.queue === null) return handled(Promise.reject(new IoError(EPIPE, 'write', this.fd, { message: 'write after end (EPIPE)' })))
    const q = this.open()
    if (q === null) return this.failed()
    if (isEmpty(data)) return q.write(data) // type-checks; resolves at once, must not become the tail
    const p = q.write(data)
    if (p === this.tail) return p // a small write that joined the previous one's chunk: already watched
    this.tail = p
    // Also marks p handled: a write nobody awaits never becomes an unhandled rejection.
    p.then(this.onSettled, this.onSettled)
    return p
  }

  /**
   * Resolves when everything written so far is with the kernel (for a pipe or
   * terminal: in its buffer; for a file: in the page cache — use `fsync` for
   * the disk). Rejects with the writer's failure, if any.
   *
   * ## Example
   * ```ts
   * out.write(report)
   * await out.flush()
   * process.exit(2)
   * ```
   */
  flush(): Promise<void> {
    return this.failure !== null ? this.failed() : this.tail
  }

  /**
   * Flushes, then retires this writer: later writes reject with `EPIPE`, and
   * the next `output(fd)` (or `stdout()`) returns a fresh writer. The fd itself
   * is not closed — close an fd you own after this resolves.
   *
   * ## Example
   * ```ts
   * const log = output(fd, { shared: false })
   * log.write(lines)
   * await log.end()
   * closeSync(fd)
   * ```
   * @returns rejects with the writer's failure, if any
   */
  end(): Promise<void> {
    this.ended = true
    const release = (): void => this.bulk?.close()
    if (this.failure !== null || this.queue === null) {
      release()
      return this.failure !== null ? this.failed() : Promise.resolve()
    }
    const done = this.queue.end()
    done.then(release, release)
    return handled(done)
  }

  /** True once the writer ended or failed (a failure is final: every later write rejects with it). */
  get closed(): boolean {
    return this.ended || this.failure !== null || (this.queue?.closed ?? false)
  }

  /**
   * Resolves when `writableLength` is below the high-water mark (at once if it
   * is): backpressure for producers, e.g. `stdin({ pace: () => out.ready() })`.
   * It resolves as soon as the kernel has taken enough — not only when the
   * queue is empty, as `drain$` does — so the queue never runs dry while the
   * producer catches up.
   *
   * ## Example
   * ```ts
   * for (const line of lines) {
   *   void out.write(line)
   *   if (!out.writable) await out.ready()
   * }
   * ```
   * @returns rejects with the writer's `IoError` once it has failed (callers
   *   waiting then reject too); after `EPIPE` with `onEpipe: 'exit'` it never
   *   settles instead — the process is ending, and code paced by it must not
   *   run on as if all were well
   */
  ready(): Promise<void> {
    if (this.failure !== null) return this.failed()
    const q = this.queue
    if (q === null || q.writable || q.closed) return Promise.resolve()
    return new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }))
  }

  /** Bytes accepted and not yet taken by the kernel. */
  get writableLength(): number {
    return this.queue?.writableLength ?? 0
  }

  /** False at or above the high-water mark, or after a failure. */
  get writable(): boolean {
    return this.failure === null && (this.queue?.writable ?? true)
  }

  /** Emits each time the queued bytes drained after reaching the high-water mark; completes if the writer fails. */
  readonly drain$: Observable<void> = defer(() => this.open()?.drain$ ?? EMPTY)

  /** True once this writer met EPIPE with `onEpipe: 'exit'` (its Promises never settle; `flushAll` skips it). @internal */
  get exitingOnEpipe(): boolean {
    return this.exiting
  }

  /** What every call returns once the writer failed. */
  private failed(): Promise<never> {
    return this.exiting ? NEVER : handled(Promise.reject(this.failure))
  }

  /** The write queue failed (the fd's error): final for this writer. */
  private readonly onQueueError = (err: IoError): void => {
    if (this.failure !== null) return
    this.failure = err
    const ws = this.waiters
    this.waiters = []
    for (const w of ws) w.reject(err)
  }

  /** A write completed with EPIPE: true when it is the signal to exit (`output-sink.ts` then drops it). */
  private readonly onEpipeResult = (): boolean => {
    if (this.exiting) return true
    if (this.onEpipe !== 'exit' || this.failure !== null) return false
    this.exiting = true
    this.failure = new IoError(EPIPE, 'write', this.fd)
    this.waiters = [] // left pending, as the writes are: the process ends
    exitOnEpipe()
    return true
  }

  /** The queue, created on first write; null when the fd cannot be written (see `failure`). */
  private open(): WriteQueue | null {
    if (this.queue !== null || this.failure !== null) return this.queue
    let kind: FdKind
    try {
      kind = fdKind(this.fd)
    } catch (err) {
      this.failure = new IoError(IoError.is(err) ? err.errno : EBADF, 'write', this.fd, { cause: err })
      return null
    }
    // Owned only: on the poll backend a non-blocking fd goes through the reactor
    // (cancellable) instead of the threadpool. A shared fd is never touched.
    if (!this.shared && backend() === 'poll' && kind !== 'file' && kind !== 'other') {
      const r = libc.setOwnedNonBlocking(this.fd)
      if (r < 0) {
        this.failure = new IoError(-r, 'fcntl(F_SETFL)', this.fd)
        return null
      }
    }
    const p = getProactor()
    if (kind === 'pipe') this.bulk = new BulkPipe(p, this.fd)
    const sink = new OutputSink(p, { async: kind === 'tty' || kind === 'char', bulk: this.bulk, onEpipe: this.onEpipeResult })
    this.queue = new WriteQueue(sink, this.fd, {
      kind: kind === 'socket' ? 'socket' : 'stream',
      highWaterMark: this.opts.highWaterMark ?? DEFAULT_HWM,
      onError: this.onQueueError,
    })
    return this.queue
  }
}

const DEFAULT_HWM = 2 << 20

interface Waiter {
  resolve(): void
  reject(err: IoError): void
}

/** What a writer exiting on EPIPE returns: one shared Promise that never settles. */
const NEVER: Promise<never> = new Promise<never>(() => {})

function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(noop)
  return p
}

function noop(): void {}

function isEmpty(data: WriteData): boolean {
  if (typeof data === 'string' || data instanceof Uint8Array) return data.length === 0
  return Array.isArray(data) && data.every((d) => (typeof d === 'string' || d instanceof Uint8Array) && d.length === 0)
}
