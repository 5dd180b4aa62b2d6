/**
 * The writers of stdout, stderr and other output fds: one {@link Writer} per
 * fd for the life of the process, so every part of a program shares one
 * ordered queue per fd.
 *
 * @packageDocumentation
 */
import { environmentSingleton } from '@ringio/core/transport'
import { flushWriters } from './exit.js'
import { Writer, type WriterOptions } from './writer.js'

/** The writer of each fd: one at a time, replaced once it ended or failed. */
// One per fd in this Node environment, whichever builds (ESM, CJS) are loaded:
// two writers on fd 1 would each keep their own order, interleaved.
const writers = environmentSingleton('tty.writers', () => new Map<number, Writer>())
flushWriters(() => writers.values())

/** Options of {@link output}. */
export interface OutputOptions extends WriterOptions {
  /**
   * `true`: the description may be shared with other processes; ringio never
   * changes its flags. `false`: ringio may make it non-blocking (poll backend).
   * Fds 0-2 are always treated as shared.
   */
  shared: boolean
}

/**
 * The writer of fd 1. Never touches `process.stdout` (whose first use makes a
 * shared pipe non-blocking) nor the description's flags.
 *
 * When the reader goes away (`tool | head`: `EPIPE`), the process ends
 * quietly with status 141, as `cat` does there (the shell shows 141 for a
 * tool killed by SIGPIPE): other writers are flushed, `'exit'` handlers run,
 * nothing is printed, and code paced by `ready()` does not run on. Pass
 * `onEpipe: 'error'` to handle it yourself (see {@link WriterOptions.onEpipe}).
 *
 * ## Example
 * ```ts
 * import { stdout } from '@ringio/tty'
 * const out = stdout()
 * out.write('hello ')
 * await out.write('world\n')
 * ```
 * @param opts `highWaterMark` — applied when the writer is created (the first
 *   call); `onEpipe` (`'exit'` by default) — applied on every call that gives it
 * @returns the same {@link Writer} on every call (a fresh one after it ended or
 *   failed, with the same `onEpipe` choice)
 */
export function stdout(opts: WriterOptions = {}): Writer {
  return output(1, { ...opts, shared: true })
}

/**
 * The writer of fd 2; see {@link stdout}.
 *
 * ## Example
 * ```ts
 * import { stderr } from '@ringio/tty'
 * void stderr().write('warning: input ends without a newline\n')
 * ```
 * @param opts as for {@link stdout} (`EPIPE` on stderr also ends the process with 141 by default)
 * @returns the same {@link Writer} on every call
 */
export function stderr(opts: WriterOptions = {}): Writer {
  return output(2, { ...opts, shared: true })
}

/**
 * The writer of any fd: a pipe, terminal, socket or file you hold.
 *
 * ## Example
 * ```ts
 * import { openSync } from 'node:fs'
 * import { output } from '@ringio/tty'
 * const log = output(openSync('run.log', 'a'), { shared: false })
 * await log.write('started\n')
 * ```
 * @param fd the descriptor
 * @param opts `shared` (required), `highWaterMark` (applies when the writer is
 *   created), `onEpipe` (default `'exit'` for fds 1 and 2, `'error'` for others;
 *   applied on every call that gives it)
 * @returns the same {@link Writer} for the same fd on every call, until it ends or fails
 * @throws TypeError for a bad fd, a missing `shared`, or an fd already used with the other sharing mode
 */
export function output(fd: number, opts: OutputOptions): Writer {
  if (!Number.isInteger(fd) || fd < 0) throw new TypeError(`fd must be a non-negative integer, got ${String(fd)}`)
  if (typeof opts?.shared !== 'boolean') throw new TypeError('output: opts.shared must be true (the fd may be shared with other processes) or false (ringio may change it)')
  const shared = fd <= 2 || opts.shared
  let w = writers.get(fd)
  if (w !== undefined && !w.closed) {
    if (w.shared !== shared) throw new TypeError(`output: fd ${fd} already has a writer with shared: ${String(w.shared)}`)
    if (opts.onEpipe !== undefined) w.onEpipe = opts.onEpipe
    return w
  }
  // A writer that replaces an ended or failed stdout or stderr keeps the
  // program's choice; a higher fd number may name another file by now.
  w = new Writer(fd, shared, { highWaterMark: opts.highWaterMark, onEpipe: opts.onEpipe ?? (fd <= 2 ? w?.onEpipe : undefined) })
  writers.set(fd, w)
  return w
}

