/**
 * A private open file description of the pipe or terminal behind a shared
 * fd (DESIGN.md principle 3's fallback): reopened from `/proc/self/fd/N`, it
 * may be made non-blocking without changing what the parent shell or a
 * sibling shares.
 *
 * @packageDocumentation
 * @internal
 */
import { closeSync, constants, fstatSync, openSync } from 'node:fs'

/**
 * Opens a new, non-blocking description of the object behind `fd`, for
 * `access` (`O_RDONLY` or `O_WRONLY`), trying `/proc/self/fd/N` and then
 * `alsoTry` (e.g. `/dev/tty`). A candidate counts only when it is that very
 * object (same device, inode and rdev). The open never blocks (a FIFO with
 * no reader answers ENXIO).
 * @returns the new fd (close-on-exec; the caller owns it), or -1
 */
export function reopenPrivate(fd: number, access: number, alsoTry: readonly string[] = []): number {
  let want
  try {
    want = fstatSync(fd)
  } catch {
    return -1
  }
  for (const path of [`/proc/self/fd/${fd}`, ...alsoTry]) {
    let priv = -1
    try {
      // libuv opens every file close-on-exec.
      priv = openSync(path, access | constants.O_NONBLOCK | constants.O_NOCTTY)
      const got = fstatSync(priv)
      if (got.dev === want.dev && got.ino === want.ino && got.rdev === want.rdev) return priv
      closeSync(priv)
    } catch {
      if (priv >= 0) closeSync(priv)
    }
  }
  return -1
}
