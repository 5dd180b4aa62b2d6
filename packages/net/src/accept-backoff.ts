/**
 * The pause a listener takes when accept(2) fails for want of a resource.
 *
 * @packageDocumentation
 */
import { EMFILE, ENFILE, ENOBUFS, ENOMEM } from './constants.js'

/**
 * accept(2) errors that mean "this process (or the system) is out of a
 * resource", not "this listener is broken": EMFILE, ENFILE, ENOBUFS, ENOMEM.
 * The pending connection stays in the kernel's backlog, so retrying at once
 * fails at once again (io_uring re-arms, epoll reports the listener readable):
 * a busy loop. The listener pauses instead and retries later.
 */
export const ACCEPT_RESOURCE_ERRNOS: ReadonlySet<number> = new Set([EMFILE, ENFILE, ENOBUFS, ENOMEM])

/** First pause after a resource error, in ms. */
export const ACCEPT_BACKOFF_MIN_MS = 10
/** Longest pause, in ms: how late, at worst, a freed fd is noticed. */
export const ACCEPT_BACKOFF_MAX_MS = 1000

/**
 * Retry-with-backoff for a paused accept: the first retry after
 * {@link ACCEPT_BACKOFF_MIN_MS}, each later one twice as late, up to
 * {@link ACCEPT_BACKOFF_MAX_MS}; an accept that succeeds resets it.
 *
 * Why a backoff and not libuv's reserved-fd trick (keep a spare fd; on EMFILE
 * close it, accept and close the pending connections, reopen it):
 * - the trick serves no one: it drains the backlog by hanging up on every
 *   waiting client. Pausing leaves them in the kernel's backlog, and they are
 *   served as soon as fds are free again — node:net's observable behaviour.
 * - on io_uring the accept runs in the kernel, asynchronously: there is no
 *   point where "close the spare, then accept" is atomic, and any other op in
 *   flight (an openat, a socket) may take the freed fd first.
 * - it helps only EMFILE; ENOBUFS and ENOMEM need waiting anyway.
 * The cost: a waiting client is served up to {@link ACCEPT_BACKOFF_MAX_MS}
 * after an fd frees, and SYNs past a full backlog are retried by the client.
 *
 * The timer is referenced (it stands for the accept it replaces, which kept
 * the process alive) and must be {@link cancel}led when the listener closes.
 *
 * ## Example
 * ```ts
 * const backoff = new AcceptBackoff()
 * const delay = backoff.schedule(() => rearmAccept()) // after EMFILE
 * backoff.reset() // after an accept succeeded
 * backoff.cancel() // when the listener closes
 * ```
 */
export class AcceptBackoff {
  private delay = ACCEPT_BACKOFF_MIN_MS
  private timer: ReturnType<typeof setTimeout> | null = null

  /**
   * Runs `retry` after the current delay, then doubles the delay (capped).
   * Replaces a retry already scheduled. Returns the delay used, in ms.
   */
  schedule(retry: () => void): number {
    this.cancel()
    const delay = this.delay
    this.delay = Math.min(delay * 2, ACCEPT_BACKOFF_MAX_MS)
    this.timer = setTimeout(() => {
      this.timer = null
      retry()
    }, delay)
    return delay
  }

  /** An accept succeeded: the next pause starts short again. */
  reset(): void {
    this.delay = ACCEPT_BACKOFF_MIN_MS
  }

  /** Drops the scheduled retry, if any (listener closed). */
  cancel(): void {
    if (this.timer === null) return
    clearTimeout(this.timer)
    this.timer = null
  }
}
