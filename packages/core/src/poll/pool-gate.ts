/**
 * The budget of koffi asynchronous calls, shared by everything in this Node
 * environment that runs blocking calls on libuv's threadpool through koffi's
 * `.async` (the poll backend's file and blocking-fd operations, and
 * {@link threadpoolCall}).
 *
 * Why: koffi refuses more than `max_async_calls` (256 by default) pending
 * async calls at once per environment — the 257th throws "Too many
 * asynchronous calls are running" — while a caller may start ten thousand
 * file writes at once. Calls beyond the budget wait here, in FIFO order, and
 * start as earlier ones return. Waiting here costs nothing in throughput:
 * libuv runs only `UV_THREADPOOL_SIZE` (4) calls at a time anyway, and a
 * waiting call can still be cancelled (it never reached a worker).
 *
 * The budget is half of koffi's, so an application's own koffi async calls
 * keep room; if koffi refuses anyway (they took the rest), the call goes
 * back to the head of the line and is retried when a call returns, or after
 * a millisecond when none of ours is running.
 *
 * @packageDocumentation
 */
import koffi from 'koffi'

/** A starter of threadpool calls, identified by `(token, tag)` (an op's slot and generation, say). */
export interface PoolClient {
  /**
   * Starts queued call `(token, tag)`: a place in the budget is reserved for
   * it. Returns true when a call is now running (it must call
   * {@link PoolGate.done} when it returns), false when there is nothing to
   * start any more (it was cancelled while waiting). Throws only what koffi
   * throws when its own queue is full ({@link isPoolFull}), having undone
   * whatever it changed: the call then waits again, first in line.
   */
  launch(token: number, tag: number): boolean
}

/** True for koffi's "Too many asynchronous calls are running" error. */
export function isPoolFull(err: unknown): boolean {
  return err instanceof Error && err.message.includes('Too many asynchronous calls')
}

/** The FIFO of calls waiting for a place in the budget, in parallel arrays (no object per call). */
export class PoolGate {
  /** Calls that may run at once. */
  readonly limit: number
  private inflight = 0
  private clients: (PoolClient | null)[] = []
  private tokens: number[] = []
  private tags: number[] = []
  private head = 0
  /** koffi refused a call: nothing starts until one of ours returns (or the retry timer fires). */
  private saturated = false
  private retry: NodeJS.Timeout | null = null
  private pumping = false
  private readonly onRetry = (): void => {
    this.retry = null
    this.saturated = false
    this.pump()
  }

  /** @param limit how many calls may be pending in koffi at once */
  constructor(limit: number) {
    this.limit = limit
  }

  /** Calls started through the gate and not yet returned. */
  get running(): number {
    return this.inflight
  }

  /** Calls waiting for a place (cancelled ones included until they reach the head). */
  get waiting(): number {
    return this.tokens.length - this.head
  }

  /**
   * Starts `(token, tag)` through `client.launch` now if the budget has room
   * and nobody waits, else queues it behind the others. Never throws what
   * koffi throws when full: the call waits instead.
   */
  submit(client: PoolClient, token: number, tag: number): void {
    if (this.inflight < this.limit && this.head === this.tokens.length && !this.saturated) {
      this.inflight++
      this.start(client, token, tag) // when koffi is full, start() queues it first in line
      return
    }
    this.clients.push(client)
    this.tokens.push(token)
    this.tags.push(tag)
    this.pump()
  }

  /** A call started through the gate returned: its place goes to the first call waiting. */
  done(): void {
    this.inflight--
    this.saturated = false
    this.pump()
  }

  /** Launches waiting calls while there is room; skips those cancelled while waiting. */
  private pump(): void {
    if (this.pumping) return // a launch that completes synchronously re-enters through done()
    this.pumping = true
    try {
      while (this.inflight < this.limit && this.head < this.tokens.length && !this.saturated) {
        const at = this.head++
        const client = this.clients[at]!
        this.clients[at] = null
        this.inflight++
        this.start(client, this.tokens[at]!, this.tags[at]!)
      }
    } finally {
      this.pumping = false
    }
    this.compact()
  }

  /** Runs `client.launch`; false (and the place handed back) when nothing was started. */
  private start(client: PoolClient, token: number, tag: number): boolean {
    let started: boolean
    try {
      started = client.launch(token, tag)
    } catch (err) {
      this.inflight--
      if (!isPoolFull(err)) throw err
      this.requeueFirst(client, token, tag)
      return false
    }
    if (!started) this.inflight--
    return started
  }

  /** koffi refused: the call goes back to the head of the line and waits for a return, or a millisecond. */
  private requeueFirst(client: PoolClient, token: number, tag: number): void {
    if (this.head > 0) {
      this.head--
      this.clients[this.head] = client
      this.tokens[this.head] = token
      this.tags[this.head] = tag
    } else {
      this.clients.unshift(client)
      this.tokens.unshift(token)
      this.tags.unshift(tag)
    }
    // With calls of ours running, their return pumps again; with none, only time frees koffi's slots.
    this.saturated = true
    if (this.inflight === 0 && this.retry === null) this.retry = setTimeout(this.onRetry, 1)
  }

  /** Drops the consumed head of the arrays once it is most of them, so they do not grow forever. */
  private compact(): void {
    if (this.head === this.tokens.length) {
      this.clients.length = this.tokens.length = this.tags.length = this.head = 0
    } else if (this.head > 1024 && this.head * 2 > this.tokens.length) {
      this.clients.splice(0, this.head)
      this.tokens.splice(0, this.head)
      this.tags.splice(0, this.head)
      this.head = 0
    }
  }
}

/**
 * The environment's gate: half of koffi's `max_async_calls` (module state is
 * per environment, as koffi's budget is — a Worker has its own of both).
 */
export const poolGate = new PoolGate(Math.max(1, Math.floor((koffi.config().max_async_calls ?? 256) / 2)))
