/**
 * Readiness of a foreign fd as an Observable (multishot IORING_OP_POLL_ADD),
 * for third-party libraries that must poll sockets themselves (c-ares,
 * libcurl) on the same loop as everything else. The fd stays the caller's:
 * nothing here changes its flags.
 *
 * @packageDocumentation
 */
import { Observable } from 'rxjs'
import { checkInt, IoError } from './errors.js'
import { ECANCELED } from './sys/errno.js'
import { IORING_CQE_F_MORE } from './uring/abi.js'
import { getProactor } from './backend.js'
import type { Completion } from './completion.js'
import type { PollOp } from './ops/poll.js'

/**
 * `poll(2)` event bits, for the `events` mask of {@link poll} and the
 * `revents` it emits. Combine with `|`.
 *
 * ## Example
 * ```ts
 * poll(fd, PollEvents.IN | PollEvents.RDHUP).subscribe((revents) => {
 *   if (revents & PollEvents.RDHUP) console.log('peer closed its side')
 * })
 * ```
 */
export const PollEvents = {
  /** `POLLIN`: there is data to read (or a connection to accept). */
  IN: 0x001,
  /** `POLLPRI`: an exceptional condition (TCP out-of-band data, a PTY state change). */
  PRI: 0x002,
  /** `POLLOUT`: writing will not block. */
  OUT: 0x004,
  /** `POLLERR`: an error is pending on the fd; reported whatever `events` asks. */
  ERR: 0x008,
  /** `POLLHUP`: hang-up (the peer of a pipe or socket is gone); reported whatever `events` asks. */
  HUP: 0x010,
  /** `POLLRDHUP`: the stream socket's peer shut down its writing side. */
  RDHUP: 0x2000,
} as const

/**
 * Emits the `revents` mask when `fd` becomes ready for `events`, the same way
 * on both backends (io_uring's multishot POLL_ADD; on the poll backend, an
 * edge-triggered watch in a private epoll set): straight away if `fd` is
 * ready when you subscribe, then once per new readiness — more data, more
 * room, a hang-up. Data left unread does not fire again until more arrives,
 * so drain what you can on each event. POLLERR and POLLHUP are reported
 * whatever `events` asks, as `poll(2)` does; a hang-up is an event, not the
 * end of the Observable. When `fd` is ready in several ways at once, the poll
 * backend's mask may list more of `events` than the change that woke it
 * (epoll reports all that holds, io_uring what the wakeup said). A descriptor
 * that cannot wait for readiness (a regular file) is always ready: it emits at
 * once, and again on every loop turn while subscribed. Several subscriptions
 * may watch one fd; each gets every event.
 *
 * ## Example
 * ```ts
 * const sub = poll(fd, PollEvents.IN).subscribe((revents) => drainSocket(fd))
 * sub.unsubscribe() // removes the poll from the kernel
 * ```
 *
 * # Errors
 * Errors with `IoError` (`op: 'poll'`): EBADF for an fd that is not open,
 * EINVAL when a regular file is asked for neither IN nor OUT, EMFILE when the
 * poll backend has no fd left for the watch. Bad arguments throw synchronously.
 *
 * # Cancel safety
 * Unsubscribing cancels the poll in the kernel. The fd itself is never
 * touched: ringio does not own it, changes none of its flags (no O_NONBLOCK,
 * on either backend: the descriptions of a shared pipe, TTY or socket stay
 * blocking if they were) and never closes it. While subscribed, the watch
 * holds a reference to the open file description (io_uring's poll does; the
 * poll backend watches a close-on-exec duplicate of `fd`), released on
 * unsubscribe.
 * @param fd a descriptor the caller owns (or one it shares, such as 0)
 * @param events `PollEvents` bits to watch
 */
export function poll(fd: number, events: number): Observable<number> {
  checkInt('fd', fd, 0, 0x7fffffff)
  checkInt('events', events, 1, 0xffff)
  return new Observable<number>((subscriber) => {
    const p = getProactor()
    const op: PollOp = { kind: 'poll', fd, events, multishot: true }
    let live = true
    const c: Completion = {
      complete(res, flags) {
        if (res >= 0) {
          subscriber.next(res)
          // The kernel may end a multishot poll (e.g. on overflow): re-arm.
          if ((flags & IORING_CQE_F_MORE) === 0 && !subscriber.closed) id = p.start(op, c)
          return
        }
        live = false
        if (res !== -ECANCELED) subscriber.error(new IoError(-res, 'poll', fd))
      },
    }
    let id = p.start(op, c)
    return () => {
      if (live) p.cancel(id)
    }
  })
}
