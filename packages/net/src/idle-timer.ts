/**
 * The idle timer behind `NodeSocket#setTimeout`, with `net.Socket`'s rules:
 * reset by every read and write (`refresh()`), unref'd (it never keeps the
 * process alive), and a timeout that finds the write queue still shrinking
 * is postponed rather than reported (Node's `Socket#_onTimeout`).
 *
 * @packageDocumentation
 */
import { clearTimeout, setTimeout as startTimer } from 'node:timers'

/** Node's `TIMEOUT_MAX`: a longer delay is clamped to 1 ms by Node's timers, as `net.Socket` gets. */
const TIMEOUT_MAX = 2 ** 31 - 1

/** One socket's idle timer. */
export class IdleTimer {
  private timer: ReturnType<typeof startTimer> | null = null
  /** The write queue's length when the timer last fired: a change means progress. */
  private queuedAtFire = 0

  /**
   * @param fire called when the timeout is reached with no progress
   * @param queued bytes still waiting to be sent (a write in progress postpones the timeout)
   */
  constructor(
    private readonly fire: () => void,
    private readonly queued: () => number,
  ) {}

  /**
   * (Re)starts the timer with `msecs`; `0` stops it.
   * @throws TypeError / RangeError for a `msecs` that is not a non-negative finite number, as Node
   */
  set(msecs: number): void {
    if (typeof msecs !== 'number') throw new TypeError(`The "msecs" argument must be of type number. Received ${typeof msecs}`)
    if (!(msecs >= 0) || !Number.isFinite(msecs)) throw new RangeError(`The value of "msecs" is out of range. It must be a non-negative finite number. Received ${msecs}`)
    this.clear()
    if (msecs === 0) return
    this.queuedAtFire = 0
    this.timer = startTimer(this.onTimer, msecs > TIMEOUT_MAX ? 1 : msecs)
    this.timer.unref()
  }

  /** Activity: the timeout counts again from now (also after it fired). */
  refresh(): void {
    this.timer?.refresh()
  }

  /** Stops the timer. */
  clear(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }

  private readonly onTimer = (): void => {
    const queued = this.queued()
    if (queued > 0 && queued !== this.queuedAtFire) {
      this.queuedAtFire = queued
      this.timer?.refresh()
      return
    }
    this.queuedAtFire = 0
    this.fire()
  }
}
