/**
 * Exiting without losing output: flush every writer, then `process.exit`.
 *
 * @packageDocumentation
 */
import { environmentSingleton } from '@ringio/core/transport'
import { hardExit } from './libc.js'

/** The status of a process whose stdout reader went away: what a shell shows for a tool killed by SIGPIPE (128 + 13). */
const EPIPE_STATUS = 141
/** How long the exit on EPIPE waits for the other writers (stderr) to flush. */
const EPIPE_FLUSH_MS = 2000
/** What {@link flushAll} waits for: each writer `output.ts` made. */
export interface Flushable {
  flush(): Promise<unknown>
  /** True once this writer met EPIPE with `onEpipe: 'exit'`: its Promises never settle. */
  readonly exitingOnEpipe: boolean
}

/**
 * Shared by every loaded copy of this package (ESM and CJS builds): the
 * writers to flush (`output.ts` hands them over, so this module does not
 * import it) and the status forced by an EPIPE (set once, for every exit).
 */
const state = environmentSingleton('tty.exit', () => ({
  writers: (): Iterable<Flushable> => [],
  forced: undefined as number | undefined,
}))

/** Tells {@link flushAll} where the writers are (`output.ts`, at load). @internal */
export function flushWriters(all: () => Iterable<Flushable>): void {
  state.writers = all
}

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
  // A writer exiting on EPIPE is done: its Promises never settle (see writer.ts).
  const live = [...state.writers()].filter((w) => !w.exitingOnEpipe)
  const all = Promise.allSettled(live.map((w) => w.flush())).then(() => true)
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
 * Once a writer with `onEpipe: 'exit'` (stdout's and stderr's default) met
 * `EPIPE`, every exit ends with status 141, whatever `code` says.
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
  // An exit already under way when stdout's reader left ends as `cat` would there.
  const status = state.forced ?? code ?? (typeof process.exitCode === 'number' ? process.exitCode : 0)
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

/**
 * A writer with `onEpipe: 'exit'` met EPIPE: end the process with status 141,
 * quietly, after flushing the other writers (bounded: a stalled stderr must
 * not keep a process whose output is gone). Idempotent.
 * @internal
 */
export function exitOnEpipe(): void {
  if (state.forced !== undefined) return
  state.forced = EPIPE_STATUS
  void exit(EPIPE_STATUS, { timeout: EPIPE_FLUSH_MS })
}
