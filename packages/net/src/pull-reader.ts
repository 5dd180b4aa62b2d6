/**
 * Pull-style reading over a push Observable of chunks, with backpressure that
 * reaches the kernel: when the consumer falls `highWater` chunks behind, the
 * source is held (a connection's receive is simply not re-armed, so the
 * socket's own buffer fills and the peer slows down) and released when the
 * consumer catches up. A source without a hold is unsubscribed instead (the
 * receive is cancelled; Connection's reader keeps whatever raced the cancel,
 * so nothing is lost).
 *
 * @packageDocumentation
 */
import type { Observable, Subscription } from 'rxjs'

/** Where {@link PullReader.drainTo} hands chunks, as they arrive. */
export interface ChunkSink {
  /** A chunk, in order (called synchronously from the source's delivery). */
  data(chunk: Buffer): void
  /** The source completed (EOF). */
  end(): void
  /** The source failed. */
  error(err: unknown): void
}

/** Reads chunks one at a time: `await next()` gives a chunk, or `null` at EOF. */
export class PullReader {
  private readonly queue: Buffer[] = []
  private sub: Subscription | null = null
  private done = false
  private failure: unknown = null
  private wake: (() => void) | null = null
  private closed = false
  private release: (() => void) | null = null
  private sink: ChunkSink | null = null

  /**
   * @param source the chunks
   * @param highWater chunks read ahead before the source is paused
   * @param giveBack receives the chunks read ahead and not consumed when the
   *   reader closes, so the source can hand them to its next consumer
   * @param hold pauses the source until the returned function is called; without it the subscription is dropped
   */
  constructor(
    private readonly source: Observable<Buffer>,
    private readonly highWater = 16,
    private readonly giveBack?: (chunks: Buffer[]) => void,
    private readonly hold?: () => () => void,
  ) {}

  /** The next chunk, or null once the stream completed. Rejects with the stream's error. */
  async next(): Promise<Buffer | null> {
    for (;;) {
      if (this.queue.length > 0) {
        const chunk = this.queue.shift()!
        if (this.queue.length === 0) this.resume()
        return chunk
      }
      if (this.failure !== null) throw this.failure
      if (this.done || this.closed) return null
      this.resume()
      await new Promise<void>((r) => (this.wake = r))
      this.wake = null
    }
  }

  /** Puts bytes back at the front (a protocol reader took more than it needed). */
  unshift(chunk: Buffer): void {
    if (chunk.length > 0) this.queue.unshift(chunk)
  }

  /**
   * Push mode: every chunk goes to `sink` as it arrives, synchronously,
   * instead of through `next()` (the chunks already read ahead go first, now).
   * A decoder fed this way hands out frames with no Promise per chunk, and
   * the source's own brakes (a send into a full queue) still pause it.
   * Returns the function that goes back to pull mode; the subscription, and
   * so the kernel receive, stays as it is.
   */
  drainTo(sink: ChunkSink): () => void {
    while (this.queue.length > 0 && !this.closed) sink.data(this.queue.shift()!)
    this.sink = sink
    if (this.failure !== null) sink.error(this.failure)
    else if (this.done || this.closed) sink.end()
    else this.resume()
    return () => {
      if (this.sink === sink) this.sink = null
    }
  }

  /** Stops reading; chunks read ahead go back to the source (`giveBack`), never lost. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.pause()
    if (this.queue.length > 0 && this.giveBack !== undefined) this.giveBack(this.queue.splice(0))
    this.wake?.()
  }

  private resume(): void {
    if (this.release !== null) {
      const release = this.release
      this.release = null
      release()
    }
    if (this.sub !== null || this.done || this.closed) return
    this.sub = this.source.subscribe({
      next: (b) => {
        if (this.sink !== null && this.queue.length === 0) {
          this.sink.data(b)
          return
        }
        this.queue.push(b)
        if (this.queue.length >= this.highWater) {
          if (this.hold === undefined) this.pause()
          else this.release ??= this.hold()
        }
        this.wake?.()
      },
      complete: () => {
        this.done = true
        this.sub = null
        this.wake?.()
        this.sink?.end()
      },
      error: (e) => {
        this.failure = e
        this.done = true
        this.sub = null
        this.wake?.()
        this.sink?.error(e)
      },
    })
    if (this.done) this.sub = null
  }

  private pause(): void {
    const s = this.sub
    this.sub = null
    s?.unsubscribe()
    // After the unsubscribe: a release first would re-arm a receive only to cancel it.
    const release = this.release
    this.release = null
    release?.()
  }
}
