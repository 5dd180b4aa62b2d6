/**
 * @ringio/tty: stdin, stdout and stderr for command-line programs, safe on
 * descriptors shared with the parent shell and sibling processes — never a
 * flag change on them, never `process.stdin`/`process.stdout` — with EOF
 * markers, raw mode that is always restored, and the terminal's size.
 *
 * The example below is a complete filter: it ends at the end of input
 * (`exit(0)` flushes first), and when the reader of stdout goes away
 * (`… | head`) the process ends quietly with status 141, like `cat` — pass
 * `stdout({ onEpipe: 'error' })` to handle that yourself.
 *
 * ## Example
 * ```ts
 * import { exit, stdin, stdout, stderr } from '@ringio/tty'
 * const out = stdout()
 * stdin({ pace: () => out.ready() }).subscribe({
 *   next: (ev) => {
 *     if (ev.type === 'data') void out.write(ev.data)
 *     else if (ev.type === 'eof') void stderr().write('^D\n')
 *   },
 *   complete: () => void exit(0),
 * })
 * ```
 * @packageDocumentation
 */

// Input
export { stdin, input, type StdinOptions, type InputOptions } from './input.js'
export type { InputEvent, DataEvent, EofEvent, EndEvent } from './input-event.js'

// Output
export { stdout, stderr, output, type OutputOptions } from './output.js'
export { Writer, type WriterOptions } from './writer.js'
export { exit, flushAll, type FlushOptions } from './exit.js'

// Terminal
export { setRawMode, isRawMode, type RawMode, type RawModeOptions } from './raw-mode.js'
export { size, type TerminalSize } from './size.js'
export { resize$ } from './resize.js'
export { fdKind, isTTY, type FdKind } from './fd-kind.js'
