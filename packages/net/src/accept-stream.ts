/**
 * `acceptStream()`: the connections a listening socket accepts, as an
 * Observable of fds — the one accept loop behind TCP, Unix stream and
 * SOCK_SEQPACKET listeners, so they ride out the same errors the same way.
 *
 * @packageDocumentation
 */
import { Observable } from 'rxjs'
import { ECANCELED, EINTR, EPERM, errnoName, getProactor, IoError, IORING_CQE_F_MORE, sockets, type OpId } from '@ringio/core/transport'
import { AcceptBackoff, ACCEPT_RESOURCE_ERRNOS } from './accept-backoff.js'
import {
  ECONNABORTED,
  ECONNRESET,
  EHOSTDOWN,
  EHOSTUNREACH,
  ENETDOWN,
  ENETUNREACH,
  ENONET,
  ENOPROTOOPT,
  EOPNOTSUPP,
  EPROTO,
  ETIMEDOUT,
} from './constants.js'

/**
 * accept(2) errors that concern one connection, not the listener: the
 * "Error handling" section's list (the connection was lost before it was
 * accepted, or the network under it failed), which Linux passes on from the
 * new socket and says to treat like EAGAIN, by accepting again.
 */
export const ACCEPT_TRANSIENT_ERRNOS: ReadonlySet<number> = new Set([
  ECONNABORTED,
  EINTR,
  EPROTO,
  EPERM,
  ETIMEDOUT,
  ECONNRESET,
  ENETDOWN,
  ENOPROTOOPT,
  EHOSTDOWN,
  ENONET,
  EHOSTUNREACH,
  EOPNOTSUPP,
  ENETUNREACH,
])

/**
 * The connections accepted on listening socket `fd`, one fd each, as they
 * come: one multishot ACCEPT, re-armed whenever the kernel ends it.
 *
 * Errors the listener survives go to `onAcceptError` (nothing stops):
 * - resource errors ({@link ACCEPT_RESOURCE_ERRNOS}: `EMFILE`, `ENFILE`,
 *   `ENOBUFS`, `ENOMEM`): accepting pauses and is retried with the
 *   {@link AcceptBackoff} (10 ms doubling to 1 s, reset by a success); the
 *   waiting connections stay in the kernel's backlog. The message says how
 *   long until the next try.
 * - transient errors ({@link ACCEPT_TRANSIENT_ERRNOS}): that one connection
 *   was lost; accepting goes on at once.
 *
 * ## Example
 * ```ts
 * const sub = acceptStream(listenFd, (e) => console.warn(e.message)).subscribe((fd) => serve(fd))
 * sub.unsubscribe() // stops accepting; listenFd stays open (it is the caller's)
 * ```
 *
 * ## Errors
 * Errors with an `IoError` (op `'accept'`) for an error that means the
 * listening socket is broken (`EBADF`, `EINVAL`, `ENOTSOCK`, …), with what
 * `onAcceptError` threw if it throws, or with the proactor's error if it was
 * closed under us.
 *
 * # Cancel safety
 * Unsubscribing cancels the accept in the kernel (or the pending backoff
 * retry). The listening fd is never closed here. An fd the kernel accepted
 * after the unsubscribe is closed; fds already emitted are the subscriber's.
 */
export function acceptStream(fd: number, onAcceptError?: (err: IoError) => void): Observable<number> {
  return new Observable<number>((subscriber) => {
    const p = getProactor()
    /** The accept op in the kernel (-1: none, e.g. while backing off). */
    let accepting: OpId = -1
    let open = true
    const backoff = new AcceptBackoff()
    const stop = (): void => {
      if (!open) return
      open = false
      backoff.cancel()
      if (accepting !== -1) p.cancel(accepting)
      accepting = -1
    }
    const fail = (err: unknown): void => {
      stop()
      subscriber.error(err)
    }
    const report = (err: IoError): void => {
      if (onAcceptError === undefined) return
      try {
        onAcceptError(err)
      } catch (thrown) {
        fail(thrown)
      }
    }
    // One completion per armed op, so a late CQE of an op already replaced
    // (cancelled on a resource error, re-armed after the backoff) is told apart.
    const arm = (): void => {
      if (!open) return
      let id: OpId = -1
      try {
        id = p.start({ kind: 'accept', fd, multishot: true }, { complete: (res, flags) => accepted(id, res, flags) })
      } catch (err) {
        fail(err) // the proactor was closed under us
        return
      }
      accepting = id
    }
    const accepted = (id: OpId, res: number, flags: number): void => {
      const ended = (flags & IORING_CQE_F_MORE) === 0
      const current = id === accepting
      if (ended && current) accepting = -1
      if (res >= 0) {
        if (!open) return sockets.closeSync(res)
        backoff.reset()
        subscriber.next(res)
        if (ended && current) arm() // the kernel ended the multishot: re-arm
        return
      }
      if (!open || !current || res === -ECANCELED) return
      const errno = -res
      if (ACCEPT_RESOURCE_ERRNOS.has(errno)) {
        // Both backends end the multishot on an error; should one keep it
        // armed, stop it: the retry below arms a fresh one.
        if (!ended) {
          p.cancel(id)
          accepting = -1
        }
        const delay = backoff.schedule(arm)
        const message = `accept failed: ${errnoName(errno)} (fd ${fd}); retrying in ${delay} ms`
        report(new IoError(errno, 'accept', fd, { message }))
        return
      }
      if (ACCEPT_TRANSIENT_ERRNOS.has(errno)) {
        if (ended) arm()
        report(new IoError(errno, 'accept', fd))
        return
      }
      fail(new IoError(errno, 'accept', fd))
    }
    arm()
    return stop
  })
}
