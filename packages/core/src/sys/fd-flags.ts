/**
 * Every `fcntl(2)` in ringio, in one place so that the one call that changes
 * a description's flags (`F_SETFL`, in {@link setOwnedNonBlocking}) can be
 * audited at a glance: it is only ever made on an fd ringio owns. Shared
 * handles (fds 0-2, fds a user passes in) are only read (DESIGN.md
 * principle 3: never change state we don't own).
 *
 * @packageDocumentation
 */
import { errno, lib, O_NONBLOCK } from './libc.js'

const fcntl = lib.func('int fcntl(int fd, int cmd, int arg)') as (fd: number, cmd: number, arg: number) => number

const F_GETFL = 3
const F_SETFL = 4
const F_DUPFD_CLOEXEC = 1030
const F_GETPIPE_SZ = 1032

/**
 * The open file description's status flags (`fcntl(F_GETFL)`: reads only),
 * or `-errno`.
 *
 * ## Example
 * ```ts
 * import { libc } from '@ringio/core'
 * const append = (libc.statusFlags(1) & 0o2000) !== 0 // O_APPEND
 * ```
 */
export function statusFlags(fd: number): number {
  const fl = fcntl(fd, F_GETFL, 0)
  return fl < 0 ? -errno() : fl
}

/** Whether `fd`'s open file description has O_NONBLOCK set (`-errno` when fcntl fails). Reads only. */
export function nonBlocking(fd: number): boolean | number {
  const fl = statusFlags(fd)
  return fl < 0 ? fl : (fl & O_NONBLOCK) !== 0
}

/**
 * Sets O_NONBLOCK on an fd ringio **owns** (a private description it opened,
 * or one a caller handed over as owned). Returns 0 or `-errno`. Never call it
 * with a shared fd: the flag belongs to the description, which the parent
 * shell and sibling processes share.
 *
 * ## Example
 * ```ts
 * import { libc } from '@ringio/core'
 * const r = libc.setOwnedNonBlocking(myOwnPipeFd)
 * if (r < 0) throw new IoError(-r, 'fcntl(F_SETFL)', myOwnPipeFd)
 * ```
 */
export function setOwnedNonBlocking(fd: number): number {
  const fl = statusFlags(fd)
  if (fl < 0) return fl
  if ((fl & O_NONBLOCK) !== 0) return 0
  return fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -errno() : 0
}

/**
 * A pipe's capacity in bytes (`fcntl(F_GETPIPE_SZ)`: reads only), or `-errno`.
 *
 * ## Example
 * ```ts
 * import { libc } from '@ringio/core'
 * const room = libc.pipeCapacity(1) // 65536 by default when stdout is a pipe
 * ```
 */
export function pipeCapacity(fd: number): number {
  const n = fcntl(fd, F_GETPIPE_SZ, 0)
  return n < 0 ? -errno() : n
}

/** A new close-on-exec fd number for `fd`'s open file description (`F_DUPFD_CLOEXEC`), or `-errno`. */
export function dupCloexec(fd: number): number {
  const n = fcntl(fd, F_DUPFD_CLOEXEC, 0)
  return n < 0 ? -errno() : n
}
