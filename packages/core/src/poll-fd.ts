/**
 * Readiness of a foreign fd as an Observable (multishot IORING_OP_POLL_ADD),
 * for third-party libraries that must poll sockets themselves (c-ares,
 * libcurl) on the same loop as everything else.
 *
 * @packageDocumentation
 */
import { Observable } from 'rxjs'
import { checkInt, ECANCELED, IoError } from './errors.js'
import { getProactor } from './backend.js'
import type { Completion } from './proactor.js'

/** `poll(2)` event bits. */
export const PollEvents = { IN: 0x001, PRI: 0x002, OUT: 0x004, ERR: 0x008, HUP: 0x010, RDHUP: 0x2000 } as const

/**
 * Emits the `revents` mask each time `fd` becomes ready for `events` (level
 * triggered: it fires again while the condition holds and you have not
 * consumed it). Errors with `IoError` if the fd is invalid.
 *
 * ## Example
 * ```ts
 * const sub = poll(fd, PollEvents.IN).subscribe((revents) => drainSocket(fd))
 * sub.unsubscribe() // removes the poll from the kernel
 * ```
 * # Cancel safety
 * Unsubscribing cancels the poll in the kernel; the fd itself is not touched
 * (ringio does not own it, and on io_uring never changes its flags). On the
 * poll backend the fd is watched by a libuv poll handle, and libuv switches
 * the fd it watches to O_NONBLOCK: pass only sockets your library owns there.
 * @param fd a descriptor the caller owns
 * @param events `PollEvents` bits to watch
 */
export function poll(fd: number, events: number): Observable<number> {
  checkInt('fd', fd, 0, 0x7fffffff)
  checkInt('events', events, 1, 0xffff)
  return new Observable<number>((subscriber) => {
    const p = getProactor()
    let live = true
    const c: Completion = {
      complete(res, flags) {
        if (res >= 0) {
          subscriber.next(res)
          // The kernel may end a multishot poll (e.g. on overflow): re-arm.
          if ((flags & 2) === 0 && !subscriber.closed) id = p.poll(fd, events, true, c)
          return
        }
        live = false
        if (res !== -ECANCELED) subscriber.error(new IoError(-res, 'poll', fd))
      },
    }
    let id = p.poll(fd, events, true, c)
    return () => {
      if (live) p.cancel(id)
    }
  })
}
