/**
 * Linux errno numbers, named once for all of ringio: what the backends
 * synthesise, what completions are compared with (as `-errno`), and what
 * `IoError`s are built from. The values are the kernel's (x86-64 and arm64
 * share them); `errno.test.ts` checks each against Node's `os.constants.errno`.
 *
 * Plain `const` numbers rather than a lookup: they sit on hot paths
 * (`res === -EAGAIN`) where the JIT folds them.
 *
 * @packageDocumentation
 */
import { constants } from 'node:os'

/** `EPERM`: what epoll answers for regular files and other fds it cannot watch. */
export const EPERM = 1
/** `EINTR`: a signal interrupted the call; retried, never reported. */
export const EINTR = 4
/** `EIO`: an I/O error, or a transfer that made no progress where it must. */
export const EIO = 5
/** `EBADF`: not an open fd (or one already closed). */
export const EBADF = 9
/** `EAGAIN` (== `EWOULDBLOCK` on Linux): a non-blocking call would block. */
export const EAGAIN = 11
/** `EFAULT`: a bad address (or, for recvmsg, a buffer too small for its header). */
export const EFAULT = 14
/** `EBUSY`: the ring's completion queue is full. */
export const EBUSY = 16
/** `EINVAL`: an invalid argument. */
export const EINVAL = 22
/** `ENOTTY`: not a terminal. */
export const ENOTTY = 25
/** `EPIPE`: the reading end is gone (or the stream was ended). */
export const EPIPE = 32
/** `ENOSYS`: the system call does not exist here (or a seccomp filter says so). */
export const ENOSYS = 38
/** `ETIME`: what a fired timeout completes with. */
export const ETIME = 62
/** `ENOBUFS`: the buffer group ran dry. */
export const ENOBUFS = 105
/** `ENOTCONN`: the socket is not (or no longer) connected. */
export const ENOTCONN = 107
/** `EINPROGRESS`: a non-blocking connect started. */
export const EINPROGRESS = 115
/** `ECANCELED`: what a cancelled completion carries (as `-ECANCELED`). */
export const ECANCELED = 125

/** Node's own errno table: number → name, e.g. 104 → 'ECONNRESET'. */
const names: string[] = []
for (const [name, num] of Object.entries(constants.errno)) if (names[num] === undefined) names[num] = name

/**
 * The errno name for a positive errno, e.g. `errnoName(104) === 'ECONNRESET'`
 * (`'E<n>'` for a number Node does not know).
 *
 * ## Example
 * ```ts
 * import { errnoName } from '@ringio/core'
 * if (res < 0) console.log(`failed: ${errnoName(-res)}`)
 * ```
 */
export function errnoName(no: number): string {
  return names[no] ?? `E${no}`
}
