/**
 * Exiting without losing output: flush every writer, then `process.exit`.
 *
 * @packageDocumentation
 */
import { allWriters } from './output.js'
import { hardExit } from './libc.js'

/** Options of {@link exit} and {@link flushAll}. */
export interface FlushOptions {
  /**
   * Give up waiting after this many milliseconds (a reader that never reads
   * would otherwise hold the exit forever). Default: wait as long as it takes.
   */
  timeout?: number
}

/**
 * Resolves when every writer (`stdout()`, `stderr()`, `output()`) has handed
 * everything written so far to the kernel, or when `timeout` ms passed.
 * Never rejects: a failed writer (e.g. `EPIPE`) counts as done.
 *
 * ## Example
 * ```ts
 * import { flushAll } from '@ringio/tty'
 * await flushAll({ timeout: 1000 })
 * ```
 * @returns true when everything was flushed, false on timeout
 */
export async function flushAll(opts: FlushOptions = {}): Promise<boolean> {
  const all = Promise.allSettled([...allWriters()].map((w) => w.flush())).then(() => true)
  if (opts.timeout === undefined) return all
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(resolve, opts.timeout, false)
  })
  try {
    return await Promise.race([all, late])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * The safe `process.exit`: flushes every writer ({@link flushAll}), then exits
 * with `code`. `process.exit()` alone drops whatever the kernel has not taken
 * yet; letting the process end by itself (with `process.exitCode`) is also safe.
 *
 * ## Example
 * ```ts
 * import { exit, stderr } from '@ringio/tty'
 * stderr().write('usage: tool FILE\n')
 * await exit(2)
 * ```
 * @param code the exit status (default: `process.exitCode`, else 0)
 * @param opts `timeout`: exit anyway after this many ms — then at once, even if
 *   a write is blocked in a thread (`'exit'` handlers still run; `beforeExit` does not)
 */
export async function exit(code?: number, opts: FlushOptions = {}): Promise<never> {
  const flushed = await flushAll(opts)
  const status = code ?? (typeof process.exitCode === 'number' ? process.exitCode : 0)
  if (!flushed) {
    // Timed out: on the poll backend a write may still be blocked in a
    // threadpool thread, and process.exit() joins those threads — it would
    // wait for the reader after all. Run the 'exit' handlers (terminal
    // restore) as process.exit does, then end at once.
    ;(process as { _exiting?: boolean })._exiting = true
    process.exitCode = status
    process.emit('exit', status)
    hardExit(status)
  }
  process.exit(status)
}
