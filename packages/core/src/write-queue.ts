/**
 * The ordered write queue shared by every stream and channel: writes issued
 * back to back — from any number of call sites, across awaits or without
 * awaiting — reach the fd whole and in call order.
 *
 * At most one send/writev is in flight per queue. A partial write is resumed
 * from the exact byte where it stopped, before anything queued after it.
 * Writes issued in the same turn of the loop are coalesced into one writev
 * (bounded by {@link WriteQueueOptions.maxIov} buffers and `maxBytes`).
 * Small writes go further: strings and buffers up to `copyThreshold` are
 * copied into a shared chunk — one iovec, one Promise for all the writes in
 * it — until the queue submits; in a burst each new chunk is twice the last,
 * up to 16 KiB (a CLI printing lines makes one syscall per batch of chunks,
 * not one per line or per 64 lines).
 *
 * @packageDocumentation
 */
import { Subject, type Observable } from 'rxjs'
import type { Completion, OpId } from './completion.js'
import type { SendOp } from './ops/send.js'
import type { WriteOp } from './ops/write.js'
import type { WritevOp } from './ops/writev.js'
import { IoError } from './errors.js'
import { ECANCELED, ENOTCONN, EPIPE } from './sys/errno.js'
import { MAX_TAIL, TailChunk } from './tail-chunk.js'
import { DEFAULT_COPY_THRESHOLD, toBuffers, type WriteData } from './write-data.js'
import type { WriteSink } from './write-sink.js'

/** Options of a {@link WriteQueue}. */
export interface WriteQueueOptions {
  /** `'socket'`: SEND with MSG_NOSIGNAL; `'stream'`: WRITE at the fd's position (pipes, TTYs, files opened O_APPEND). */
  kind: 'socket' | 'stream'
  /** `writableLength` at or above which `writable` is false and `drain$` will emit. Default 64 KiB. */
  highWaterMark?: number
  /** Writes up to this size are copied at call time, so the caller may reuse the buffer at once. Default 4096. */
  copyThreshold?: number
  /** Most buffers coalesced into one writev. Default 64. */
  maxIov?: number
  /** Most bytes coalesced into one writev. Default 1 MiB. */
  maxBytes?: number
  /** Called once when a write fails (the fd's error, e.g. `ECONNRESET`), not when `fail()` is called by the owner. */
  onError?: (err: IoError) => void
  /** Called when the queue is empty after `end()`; must complete `c` (e.g. SHUTDOWN SHUT_WR). */
  onEnd?: (c: Completion) => OpId
  /**
   * Called where `drain$` emits (the queue emptied after reaching the
   * high-water mark) and when the queue fails or is closed: a cheaper hook
   * than a subscription, for the owner's backpressure bookkeeping.
   */
  onDrain?: () => void
}

const MSG_NOSIGNAL = 0x4000

/**
 * An ordered write queue over one fd.
 *
 * # Buffer ownership
 * A buffer of at most `copyThreshold` bytes (and every string) is copied when
 * `write()` is called: the caller may reuse it at once. A larger buffer is
 * referenced, not copied: do not modify it until the returned Promise
 * settles. Nothing accepted is dropped silently: every write's Promise
 * resolves once the kernel has taken all its bytes, or rejects with the reason.
 */
export class WriteQueue implements Completion {
  private readonly bufs: Uint8Array[] = []
  private readonly resolves: ((v: void) => void)[] = []
  private readonly rejects: ((e: unknown) => void)[] = []
  private head = 0
  /** Bytes of `bufs[head]` already written (a partial write resumes here). */
  private headOffset = 0
  private queued = 0
  private inflight: OpId = -1
  private sent = 0
  private readonly iov: Uint8Array[] = []
  /** The single-buffer op of this queue's kind (a socket's SEND, a stream's WRITE). */
  private readonly oneOp: SendOp | WriteOp
  private readonly writevOp: WritevOp
  private startQueued = false
  private ending: { resolve: (v: void) => void; reject: (e: unknown) => void; promise: Promise<void> } | null = null
  private endStarted = false
  private failure: Error | null = null
  /**
   * Made on the first `drain$` read: most queues are never watched that way
   * (a connection's backpressure uses `onDrain`), and 10 000 connections
   * each carrying a Subject and its Observable was memory for nothing.
   */
  private drainSubject: Subject<void> | null = null
  private needDrain = false
  private readonly hwm: number
  private readonly copyThreshold: number
  private readonly maxIov: number
  private readonly maxBytes: number
  private readonly startTask = (): void => this.start()
  /** The last entry of `bufs` while open: the chunk small writes are copied into until the next submission. */
  private readonly tail: TailChunk

  /** Emits each time the queue empties after `writableLength` reached the high-water mark; completes when the queue fails or is closed. */
  get drain$(): Observable<void> {
    if (this.drainSubject === null) {
      this.drainSubject = new Subject<void>()
      if (this.failure !== null) this.drainSubject.complete()
    }
    return this.drainSubject.asObservable()
  }

  /**
   * @param proactor what the writes go through: the proactor itself, or a transport's own {@link WriteSink}
   * @param fd the descriptor written
   * @param opts kind, high-water mark, coalescing limits, hooks
   */
  constructor(
    private readonly proactor: WriteSink,
    private readonly fd: number,
    private readonly opts: WriteQueueOptions,
  ) {
    // One op object of each kind, reused: one write is in flight at a time, and the sink is done with it by its completion.
    this.oneOp = opts.kind === 'socket' ? { kind: 'send', fd, buf: EMPTY, flags: MSG_NOSIGNAL } : { kind: 'write', fd, buf: EMPTY, offset: -1 }
    this.writevOp = { kind: 'writev', fd, bufs: this.iov, offset: -1 }
    this.hwm = opts.highWaterMark ?? 64 * 1024
    this.copyThreshold = opts.copyThreshold ?? DEFAULT_COPY_THRESHOLD
    this.maxIov = opts.maxIov ?? 64
    this.maxBytes = opts.maxBytes ?? 1024 * 1024
    // The queue is the tail's host itself: no closures per queue.
    this.tail = new TailChunk(this, this.maxBytes)
  }

  /** @internal The tail chunk's host side (`TailHost`): appends its chunk as the last entry. */
  pushTail(chunk: Buffer): Promise<void> {
    const d = deferred()
    this.bufs.push(chunk)
    this.resolves.push(d.resolve)
    this.rejects.push(d.reject)
    return d.promise
  }

  /** @internal The tail chunk's host side (`TailHost`): the open chunk, sealed to the bytes written. */
  replaceLast(bytes: Uint8Array): void {
    this.bufs[this.bufs.length - 1] = bytes
  }

  /** Bytes accepted and not yet taken by the kernel. */
  get writableLength(): number {
    return this.queued
  }

  /** Bytes the kernel has taken (sent or written) so far. */
  get bytesWritten(): number {
    return this.sent
  }

  /** The high-water mark in bytes (`highWaterMark`, default 64 KiB). */
  get highWaterMark(): number {
    return this.hwm
  }

  /** False once `writableLength` reached the high-water mark: wait for `drain$` (or the write's Promise). */
  get writable(): boolean {
    return this.queued < this.hwm && this.failure === null && this.ending === null
  }

  /** True once `end()` or `close()` was called, or the fd failed. */
  get closed(): boolean {
    return this.failure !== null || this.ending !== null
  }

  /**
   * True once `end()` drained the queue and `onEnd` was started (a socket's
   * SHUTDOWN, which sends FIN, was submitted) — unlike {@link closed}, which
   * is true as soon as `end()` is called, with writes possibly still queued.
   */
  get endSubmitted(): boolean {
    return this.endStarted
  }

  /**
   * Queues `data`; resolves when the kernel has taken every byte of it.
   * Small writes queued before the next submission share one chunk and
   * return the same Promise, which settles when the whole chunk is taken.
   * @throws TypeError at the call site for data of the wrong type (nothing is queued)
   * @returns rejects with `IoError` (`EPIPE` after end/close, `ECANCELED` on close, the fd's error on failure)
   */
  write(data: WriteData): Promise<void> {
    if (typeof data === 'string' || (data instanceof Uint8Array && data.length <= this.copyThreshold)) {
      const p = this.append(data)
      if (p !== null) return p
    } else if (Array.isArray(data) && this.failure === null && this.ending === null && this.allFitTail(data)) {
      // An array of small parts (a protocol's header, value and trailer) joins the tail part by part:
      // no Buffer per string, one iovec and one Promise for every reply of the turn.
      let p: Promise<void> | null = null
      for (const d of data as (string | Uint8Array)[]) p = this.append(d) ?? p
      if (p !== null) return p
    }
    // Anything else goes after the tail: it is closed, so later small writes cannot overtake this one.
    this.tail.seal()
    const parts = toBuffers(data, this.copyThreshold).filter((b) => b.length > 0)
    if (this.failure !== null) return Promise.reject(this.failure)
    if (this.ending !== null) return Promise.reject(new IoError(EPIPE, 'write', this.fd, { message: 'write after end (EPIPE)' }))
    let total = 0
    for (const b of parts) total += b.length
    if (total === 0) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      for (let i = 0; i < parts.length; i++) {
        this.bufs.push(parts[i]!)
        // Only the last part of a write settles it: the parts go out in order.
        this.resolves.push(i === parts.length - 1 ? resolve : noop)
        this.rejects.push(i === parts.length - 1 ? reject : noop)
      }
      this.queued += total
      if (this.queued >= this.hwm) this.needDrain = true
      this.queueStart()
    })
  }

  /** Every part is one `append` always takes: small, and even as worst-case UTF-8 (3 bytes a char) within MAX_TAIL. */
  private allFitTail(data: readonly unknown[]): boolean {
    for (const d of data) {
      if (!(typeof d === 'string' || d instanceof Uint8Array) || d.length > this.copyThreshold || d.length > MAX_TAIL / 3) return false
    }
    return true
  }

  /**
   * Copies a small write into the open tail (opening one if needed) and
   * returns the tail's Promise; null when it is not for the tail (empty, too
   * big, or the queue is ending or failed: the general path answers those).
   */
  private append(data: string | Uint8Array): Promise<void> | null {
    if (this.failure !== null || this.ending !== null || data.length === 0) return null
    const k = this.tail.copy(data)
    if (k < 0) return null
    this.queued += k
    if (this.queued >= this.hwm) this.needDrain = true
    this.queueStart()
    return this.tail.promise
  }

  /**
   * Half-close: resolves after every queued write was taken and `onEnd` ran
   * (e.g. SHUT_WR sent FIN). Later writes reject with `EPIPE`.
   */
  end(): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure)
    if (this.ending === null) {
      this.ending = deferred()
      this.queueStart()
    }
    return this.ending.promise
  }

  /**
   * Fails the queue with `err` (default: `ECANCELED`): every pending write
   * rejects with it, the in-flight operation is cancelled, later writes reject.
   */
  fail(err: Error = new IoError(ECANCELED, 'write', this.fd, { message: 'write cancelled: the stream was closed' })): void {
    if (this.failure !== null) return
    this.failure = err
    if (this.inflight !== -1) this.proactor.cancel(this.inflight)
    this.rejectAll(err)
    if (this.ending !== null && !this.endStarted) this.ending.reject(err)
    this.drainSubject?.complete()
    this.opts.onDrain?.()
  }

  /** The write completion (the queue is its own target: no allocation per write). */
  complete(res: number): void {
    this.inflight = -1
    // The sink is done with the op: let go of the buffers it named.
    this.oneOp.buf = EMPTY
    this.iov.length = 0
    if (this.failure !== null) return
    if (res < 0) {
      const err = new IoError(-res, this.opts.kind === 'socket' ? 'send' : 'write', this.fd)
      this.fail(err)
      this.opts.onError?.(err)
      return
    }
    this.consume(res)
    if (this.needDrain && this.queued === 0) {
      this.needDrain = false
      this.drainSubject?.next()
      this.opts.onDrain?.()
    }
    this.start()
  }

  private consume(n: number): void {
    this.queued -= n
    this.sent += n
    while (n > 0) {
      const left = this.bufs[this.head]!.length - this.headOffset
      if (n < left) {
        this.headOffset += n
        return
      }
      n -= left
      this.settleHead()
    }
  }

  private settleHead(): void {
    const h = this.head
    const resolve = this.resolves[h]!
    // Drop every reference of a settled write at once: a closure kept here
    // until compaction survives young-generation GCs and gets promoted.
    this.bufs[h] = EMPTY
    this.resolves[h] = noop
    this.rejects[h] = noop
    this.head = h + 1
    this.headOffset = 0
    if (this.head === this.bufs.length) {
      // Empty: start over at index 0 (the common case on a fast peer).
      this.bufs.length = this.resolves.length = this.rejects.length = 0
      this.head = 0
    } else if (this.head > 1024 && this.head * 2 > this.bufs.length) {
      // Compact once the consumed prefix dominates, so the arrays do not grow forever.
      this.bufs.splice(0, this.head)
      this.resolves.splice(0, this.head)
      this.rejects.splice(0, this.head)
      this.head = 0
    }
    resolve()
  }

  private queueStart(): void {
    if (this.inflight !== -1 || this.startQueued) return
    this.startQueued = true
    // Start just before the next submission, so writes issued in the same turn
    // coalesce into one writev and go out in the same enter as the rest.
    this.proactor.beforeSubmit(this.startTask)
  }

  private start(): void {
    this.startQueued = false
    if (this.inflight !== -1 || this.failure !== null || this.proactor.closed) return
    // Submitting: the tail is closed, and the next burst starts small again.
    this.tail.submit()
    const n = this.bufs.length - this.head
    if (n === 0) {
      if (this.ending !== null && !this.endStarted) this.startEnd()
      return
    }
    const first = this.headOffset === 0 ? this.bufs[this.head]! : this.bufs[this.head]!.subarray(this.headOffset)
    if (n === 1 || first.length >= this.maxBytes) {
      this.oneOp.buf = first
      this.inflight = this.proactor.start(this.oneOp, this)
      return
    }
    const iov = this.iov
    iov.length = 0
    iov.push(first)
    let bytes = first.length
    for (let i = this.head + 1; i < this.bufs.length && iov.length < this.maxIov && bytes < this.maxBytes; i++) {
      iov.push(this.bufs[i]!)
      bytes += this.bufs[i]!.length
    }
    this.inflight = this.proactor.start(this.writevOp, this)
  }

  private startEnd(): void {
    this.endStarted = true
    const ending = this.ending!
    if (this.opts.onEnd === undefined) {
      ending.resolve()
      return
    }
    this.opts.onEnd({
      complete: (res) => {
        if (res < 0 && res !== -ENOTCONN) ending.reject(new IoError(-res, 'shutdown', this.fd)) // the peer is already gone
        else ending.resolve()
      },
    })
  }

  private rejectAll(err: Error): void {
    this.tail.seal()
    const rejects = this.rejects.slice(this.head)
    this.bufs.length = this.resolves.length = this.rejects.length = 0
    this.head = this.headOffset = this.queued = 0
    for (const r of rejects) r(err)
  }

}

const EMPTY = new Uint8Array(0)
function noop(): void {}

/** A Promise with its settle functions (`Promise.withResolvers`, which Node 20 lacks). */
function deferred(): { promise: Promise<void>; resolve: (v: void) => void; reject: (e: unknown) => void } {
  let resolve!: (v: void) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}
