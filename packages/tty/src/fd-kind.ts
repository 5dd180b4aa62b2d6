/**
 * What kind of object an fd refers to, which decides how it is read and
 * written without touching its shared state.
 *
 * @packageDocumentation
 */
import { fstatSync } from 'node:fs'
import { isatty } from 'node:tty'
import { EBADF, IoError } from '@ringio/core/transport'

/**
 * The kind of an fd:
 * - `'tty'`: a terminal (a zero-byte read is an EOF marker, raw mode applies);
 * - `'pipe'`: a pipe or FIFO;
 * - `'socket'`: a socket (read with recv, written with send);
 * - `'file'`: a regular file (reads and writes at the shared file position);
 * - `'char'`: another character device (`/dev/null`, `/dev/zero`, …);
 * - `'other'`: a directory, block device, …
 */
export type FdKind = 'tty' | 'pipe' | 'socket' | 'file' | 'char' | 'other'

/**
 * Classifies `fd` with `fstat(2)` and `isatty(3)` — neither changes anything.
 *
 * ## Example
 * ```ts
 * import { fdKind } from '@ringio/tty'
 * if (fdKind(1) === 'tty') useColours()
 * ```
 * @param fd the descriptor
 * @returns its kind
 * @throws IoError `EBADF` (op `'fstat'`) when `fd` is not open
 */
export function fdKind(fd: number): FdKind {
  let st
  try {
    st = fstatSync(fd)
  } catch (err) {
    const no = (err as NodeJS.ErrnoException).errno
    throw new IoError(typeof no === 'number' ? no : EBADF, 'fstat', fd, { cause: err })
  }
  if (st.isCharacterDevice()) return isatty(fd) ? 'tty' : 'char'
  if (st.isFIFO()) return 'pipe'
  if (st.isSocket()) return 'socket'
  if (st.isFile()) return 'file'
  return 'other'
}

/**
 * True when `fd` is an open terminal.
 *
 * ## Example
 * ```ts
 * import { isTTY } from '@ringio/tty'
 * const interactive = isTTY(0) && isTTY(1)
 * ```
 * @param fd the descriptor
 */
export function isTTY(fd: number): boolean {
  return isatty(fd)
}
