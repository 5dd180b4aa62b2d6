/**
 * Completions waiting for delivery. Operations finish inside start calls,
 * fd-watcher callbacks, timers and threadpool callbacks; all of them are
 * queued here and handed to their targets from one `setImmediate` per loop
 * turn, in the order they were queued. So a target is never called inside
 * the start call (the Proactor contract), and — unlike a koffi poll callback —
 * `setImmediate` runs through MakeCallback, so promise callbacks queued by a
 * target run right after it (DESIGN.md, "Microtasks").
 *
 * @packageDocumentation
 */

/** Delivers one queued completion; may throw (a target's `complete` did). */
export type Deliver = (slot: number, gen: number, res: number, flags: number) => void

/**
 * A FIFO of `(slot, gen, res, flags)` in parallel number arrays (no object
 * per completion), double-buffered so completions queued *during* a batch go
 * to the next turn instead of starving the loop.
 */
export class CompletionQueue {
  private cur: number[] = []
  private spare: number[] = []
  private scheduled = false
  // >0 while flushing: a re-entrant flush (a target calling close()) must not reuse `spare`, which is then `cur`.
  private depth = 0
  private readonly onImmediate = (): void => {
    this.scheduled = false
    this.flush()
  }

  /** @param deliver called for each completion, in order */
  constructor(private readonly deliver: Deliver) {}

  /** Number of completions waiting. */
  get length(): number {
    return this.cur.length >> 2
  }

  /** Queues a completion and makes sure a delivery is scheduled. */
  push(slot: number, gen: number, res: number, flags: number): void {
    this.cur.push(slot, gen, res, flags)
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(this.onImmediate)
    }
  }

  /**
   * Delivers the completions queued so far. An exception from one target does
   * not stop the batch: the first one is rethrown afterwards from a microtask
   * (so it reaches `uncaughtException` like any callback error), the rest
   * would only repeat the news.
   */
  flush(): void {
    const batch = this.cur
    this.cur = this.depth === 0 ? this.spare : []
    let failed = false
    let first: unknown
    this.depth++
    for (let i = 0; i < batch.length; i += 4) {
      try {
        this.deliver(batch[i]!, batch[i + 1]!, batch[i + 2]!, batch[i + 3]!)
      } catch (e) {
        if (!failed) {
          failed = true
          first = e
        }
      }
    }
    this.depth--
    batch.length = 0
    if (this.depth === 0) this.spare = batch
    if (failed) queueMicrotask(() => {
      throw first
    })
  }

  /** Delivers everything now, including completions queued while doing so (used by `close()`). */
  drain(): void {
    while (this.cur.length > 0) this.flush()
  }
}
