/**
 * A connection's write-side backpressure: the ringio sources that a write
 * into its full queue paused (each given back when the queue drains), and
 * the `ready()` callers waiting for room.
 *
 * @packageDocumentation
 */
import type { IoError, WriteQueue } from '@ringio/core/transport'
import { currentDelivery, type Holdable } from './delivery.js'

/** The paused sources and `ready()` waiters of one write queue; its owner calls {@link drained} from the queue's `onDrain`. */
export class WriteBackpressure {
  /** Sources paused by writes into this full queue, each with its release: given back at drain. */
  private readonly heldSources = new Map<Holdable, () => void>()
  private readyWaiters: (() => void)[] = []

  constructor(
    private readonly writer: WriteQueue,
    /** What waiting on a closed or failed queue rejects with. */
    private readonly closedError: () => IoError,
  ) {}

  /**
   * Resolves once the queue is below its high-water mark (at once if it
   * is); rejects with `closedError()` when the queue (or its owner:
   * `ownerClosed`) is closed, or closes or fails before it drains.
   */
  ready(ownerClosed: boolean): Promise<void> {
    if (this.writer.writable) return Promise.resolve()
    if (this.writer.closed || ownerClosed) return Promise.reject(this.closedError())
    return new Promise<void>((resolve, reject) => this.readyWaiters.push(() => (this.writer.writable ? resolve() : reject(this.closedError()))))
  }

  /** After each write: a full queue holds the source handing out data now (if any) until the drain. */
  wrote(): void {
    if (this.writer.writableLength < this.writer.highWaterMark) return
    const src = currentDelivery()
    if (src === null || this.heldSources.has(src)) return
    this.heldSources.set(src, src.hold())
  }

  /** The queue drained (or failed): paused sources resume, `ready()` callers go on. */
  drained(): void {
    // Cleared before releasing: a released source may deliver at once and be held again.
    const releases = [...this.heldSources.values()]
    this.heldSources.clear()
    for (const release of releases) release()
    const waiters = this.readyWaiters
    if (waiters.length > 0) {
      this.readyWaiters = []
      for (const w of waiters) w()
    }
  }
}
