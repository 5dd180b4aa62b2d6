/**
 * The one reader of an input fd: at most one read in flight, at most one
 * consumer at a time, and no byte lost between consumers.
 *
 * A read pending on a terminal or pipe may finish after its consumer left
 * (the cancel lost the race, or the backend could not interrupt it). Its
 * result is kept and handed to the next consumer of the same fd first, so
 * `stdin()` can be subscribed, unsubscribed and subscribed again — a prompt
 * per question — without dropping typed input.
 *
 * Reads never hold the process open by themselves (`ref: false`); while a
 * consumer is attached, an idle ref'd timer does. Detaching therefore lets
 * the process exit at once, whatever the kernel does with the cancelled read.
 *
 * @packageDocumentation
 * @internal
 */
import { environmentSingleton } from '@ringio/core/transport'
import { hungUp } from './libc.js'
import { identityOf, openReadPath, type ReadPath } from './read-path.js'

/** The outcome of one read. */
export type ReadResult =
  | { readonly kind: 'data'; readonly data: Buffer }
  /** A zero-byte read; `hangup`: the terminal or pipe reported POLLHUP at that moment. */
  | { readonly kind: 'zero'; readonly hangup: boolean }
  | { readonly kind: 'error'; readonly error: unknown }

/** What the reader asks of its consumer. */
export interface Consumer {
  /** Takes one result; returns false when it wants no more (it will detach). */
  deliver(r: ReadResult): boolean
  /** Backpressure: the next read waits for the returned promise, if any; a rejection is delivered as an error result. */
  pace?: () => PromiseLike<unknown> | void
}

const CHUNK = 64 * 1024
/** Reads of at least this many bytes hand their buffer over instead of copying it. */
const HANDOVER = 16 * 1024
const FOREVER = 0x7fffffff

class FdReader {
  private consumer: Consumer | null = null
  private inflight = false
  /** Waiting for the consumer's `pace()` promise; `paceToken` forgets a departed consumer's. */
  private waiting = false
  private paceToken = 0
  private abort: AbortController | null = null
  private readonly stash: ReadResult[] = []
  /** The identity (read-path.ts) of what the stash was read from. */
  private stashFrom = ''
  private path: ReadPath | null = null
  private keepAlive: NodeJS.Timeout | null = null
  private buf = Buffer.allocUnsafeSlow(CHUNK)

  constructor(
    readonly fd: number,
    readonly shared: boolean,
  ) {}

  get busy(): boolean {
    return this.consumer !== null
  }

  attach(c: Consumer): void {
    if (this.consumer !== null) throw new Error(`ringio: fd ${this.fd} is already being read by another subscriber (share() the Observable instead)`)
    this.consumer = c
    // The fd number may have been closed and reused since the last consumer: the
    // old path and old bytes belong to another object. A read still in flight on
    // the old path is dropped when it settles (see done).
    const id = identityOf(this.fd)
    if (this.stash.length > 0 && this.stashFrom !== id) this.stash.length = 0
    if (this.path !== null && this.path.identity !== id) {
      if (!this.inflight) this.path.release()
      this.path = null
    }
    this.keepAlive = setInterval(noop, FOREVER)
    this.pump()
  }

  detach(c: Consumer): void {
    if (this.consumer !== c) return
    this.consumer = null
    this.waiting = false
    this.paceToken++
    if (this.keepAlive !== null) clearInterval(this.keepAlive)
    this.keepAlive = null
    this.abort?.abort()
    this.abort = null
    this.releaseIfIdle()
  }

  private pump(): void {
    while (this.consumer !== null && !this.inflight && !this.waiting) {
      const r = this.stash.shift()
      if (r === undefined) return this.start()
      if (!this.hand(r)) return
    }
  }

  /** Gives `r` to the consumer; true when the caller may read on at once. */
  private hand(r: ReadResult): boolean {
    const c = this.consumer!
    if (!c.deliver(r) || this.consumer !== c) return false
    const wait = r.kind === 'data' ? c.pace?.() : undefined
    if (wait === undefined || wait === null || typeof wait.then !== 'function') return true
    this.waiting = true // no read while the consumer catches up
    const token = this.paceToken
    const resume = (): void => {
      if (token !== this.paceToken) return
      this.waiting = false
      this.pump()
    }
    // A rejected pace (the writer it waits for failed) ends the stream with
    // that error: reading on would copy input nobody can take, at full speed.
    const stop = (error: unknown): void => {
      if (token !== this.paceToken || this.consumer !== c) return
      this.waiting = false
      c.deliver({ kind: 'error', error })
    }
    wait.then(resume, stop)
    return false
  }

  private start(): void {
    let path = this.path
    if (path === null) {
      try {
        path = this.path = openReadPath(this.fd, this.shared)
      } catch (error) {
        this.hand({ kind: 'error', error })
        return
      }
    }
    // One controller per consumer, not per read: it is only ever aborted by detach.
    const ac = (this.abort ??= new AbortController())
    this.inflight = true
    const buf = this.buf
    path.read(buf, ac.signal).then(
      (n) => this.done(path, n > 0 ? { kind: 'data', data: this.take(buf, n) } : { kind: 'zero', hangup: hungUp(path.fd) }),
      (error: unknown) => this.done(path, ac.signal.aborted ? null : { kind: 'error', error }),
    )
  }

  /**
   * The bytes read into `buf`, as a Buffer the consumer owns: a large read
   * hands over the buffer itself (a fresh one takes its place: no copy of up
   * to 64 KiB), a small one is copied out (a keystroke does not pin 64 KiB).
   */
  private take(buf: Buffer, n: number): Buffer {
    if (n < HANDOVER) return Buffer.from(buf.subarray(0, n))
    this.buf = Buffer.allocUnsafeSlow(CHUNK)
    return buf.subarray(0, n)
  }

  /** A read on `from` settled; `r` null: it was cancelled and took nothing. */
  private done(from: ReadPath, r: ReadResult | null): void {
    this.inflight = false
    if (from !== this.path) {
      from.release() // retired in attach: the fd number now names another object
      r = null
    }
    if (r !== null) {
      // Bytes and EOF markers wait for the next consumer; an error is reported
      // afresh by the next read, if it recurs.
      if (this.consumer === null) {
        if (r.kind !== 'error') {
          this.stash.push(r)
          this.stashFrom = from.identity
        }
      } else if (!this.hand(r)) return
    }
    if (this.consumer === null) this.releaseIfIdle()
    else this.pump()
  }

  private releaseIfIdle(): void {
    if (this.inflight || this.consumer !== null || this.path === null) return
    // A private description is only held while someone reads; the stash outlives it.
    // The path is chosen afresh per consumer: the fd number may name something else by then.
    this.path.release()
    this.path = null
  }
}

function noop(): void {}

// One per fd in this Node environment, whichever builds are loaded (two would race for the same bytes).
const readers = environmentSingleton('tty.readers', () => new Map<number, FdReader>())

/**
 * The reader of `fd` (one per fd for the life of the process).
 * @throws Error when `fd` is being read with the other sharing mode
 */
export function readerFor(fd: number, shared: boolean): { attach(c: Consumer): void; detach(c: Consumer): void } {
  let r = readers.get(fd)
  if (r !== undefined && r.shared !== shared) {
    if (r.busy) throw new Error(`ringio: fd ${fd} is being read as ${r.shared ? 'shared' : 'owned'}`)
    r = undefined
  }
  if (r === undefined) {
    r = new FdReader(fd, shared)
    readers.set(fd, r)
  }
  return r
}
