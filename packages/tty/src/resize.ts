/**
 * Terminal resizes as an Observable (SIGWINCH).
 *
 * @packageDocumentation
 */
import { Observable, share } from 'rxjs'
import { defaultTerminalFd, size, type TerminalSize } from './size.js'

/**
 * The terminal's new size after each resize (SIGWINCH), read from the first
 * of fds 1, 2, 0 that is a terminal. Emits nothing when none is (or when the
 * size cannot be read at that moment). One SIGWINCH listener serves every
 * subscriber; it does not keep the process alive, and it is removed when the
 * last subscriber leaves.
 *
 * ## Example
 * ```ts
 * import { resize$ } from '@ringio/tty'
 * const sub = resize$.subscribe(({ columns, rows }) => redraw(columns, rows))
 * // later: sub.unsubscribe()
 * ```
 * # Cancel safety
 * Unsubscribing removes the listener; nothing else is touched.
 */
export const resize$: Observable<TerminalSize> = new Observable<TerminalSize>((subscriber) => {
  const onWinch = (): void => {
    const fd = defaultTerminalFd()
    if (fd < 0) return
    let s: TerminalSize
    try {
      s = size(fd)
    } catch {
      return // the terminal went away between the signal and the ioctl
    }
    subscriber.next(s)
  }
  process.on('SIGWINCH', onWinch)
  return () => {
    process.off('SIGWINCH', onWinch)
  }
}).pipe(share())
