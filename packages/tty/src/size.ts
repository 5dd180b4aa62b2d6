/**
 * A terminal's window size (`TIOCGWINSZ`).
 *
 * @packageDocumentation
 */
import { ENOTTY, IoError } from '@ringio/core/transport'
import { isatty } from 'node:tty'
import { errno, ioctl, TIOCGWINSZ } from './libc.js'

/** A terminal's size in character cells (and pixels, when the terminal reports them; else 0). */
export interface TerminalSize {
  /** Columns (characters per line). */
  readonly columns: number
  /** Rows (lines). */
  readonly rows: number
  /** Width in pixels, 0 when unknown. */
  readonly width: number
  /** Height in pixels, 0 when unknown. */
  readonly height: number
}

/** The first of stdout, stderr, stdin that is a terminal, or -1. @internal */
export function defaultTerminalFd(): number {
  for (const fd of [1, 2, 0]) if (isatty(fd)) return fd
  return -1
}

/**
 * The window size of a terminal, read with `ioctl(TIOCGWINSZ)` (nothing is
 * changed). `resize$` emits it again after each SIGWINCH.
 *
 * ## Example
 * ```ts
 * import { size } from '@ringio/tty'
 * const { columns } = size()
 * await stdout().write('-'.repeat(columns) + '\n')
 * ```
 * @param fd the terminal; default: the first of fds 1, 2, 0 that is a terminal
 * @returns columns, rows and pixel size
 * @throws IoError `ENOTTY` when `fd` (or, by default, every one of fds 0-2) is not a terminal
 */
export function size(fd: number = defaultTerminalFd()): TerminalSize {
  if (fd < 0) throw new IoError(ENOTTY, 'ioctl(TIOCGWINSZ)', undefined, { message: 'size(): none of fds 0-2 is a terminal (ENOTTY)' })
  const ws = Buffer.alloc(8) // struct winsize { unsigned short ws_row, ws_col, ws_xpixel, ws_ypixel; }
  if (ioctl(fd, TIOCGWINSZ, ws) < 0) throw new IoError(errno(), 'ioctl(TIOCGWINSZ)', fd)
  return { rows: ws.readUInt16LE(0), columns: ws.readUInt16LE(2), width: ws.readUInt16LE(4), height: ws.readUInt16LE(6) }
}
