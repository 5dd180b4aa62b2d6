/**
 * cat through @ringio/tty: copies stdin to stdout byte for byte.
 *
 *   node examples/dist/cat.js [--eof-markers] < in > out
 *   producer | node examples/dist/cat.js | consumer
 *
 * On an EOF marker (Ctrl-D on a terminal) it writes `^D` and a newline to
 * stderr; it then stops, or with `--eof-markers` keeps reading. It exits 0 at
 * the end of input; when the reader of stdout goes away (`… | head`, EPIPE)
 * it ends quietly with status 141, as `cat` does — `stdout()`'s default, no
 * code here. Any other write error (`> /dev/full`: ENOSPC) is reported on
 * stderr, exit 1: `pace` errors the input stream with it, and the last writes
 * are checked by `flush()`.
 *
 * When stdin and stdout are both pipes (`producer | cat | consumer`), the
 * bytes never enter JavaScript: `splicePipes()` moves them from one pipe to
 * the other inside the kernel (`splice(2)`, non-blocking per call, waiting
 * for readiness with a poll op), at the speed of `/bin/cat`.
 *
 * Safe anywhere in a shell pipeline: it never touches `process.stdin` or
 * `process.stdout` (Node would switch a shared pipe to O_NONBLOCK under the
 * processes beside it) and never changes the flags of fds 0-2.
 */
import { fstatSync } from 'node:fs'
import { EPIPE, IoError, splicePipes } from '@ringio/core'
import { exit, stderr, stdin, stdout } from '@ringio/tty'
import type { Subscription } from 'rxjs'


const keepReading = process.argv.includes('--eof-markers')
const out = stdout()
const err = stderr()
let stopping = false
let sub: Subscription | undefined

function stop(code: number): void {
  if (stopping) return
  stopping = true
  sub?.unsubscribe() // after error/complete this is a no-op
  void exit(code)
}

function failed(e: unknown): void {
  if (stopping) return
  void err.write(`cat: ${e instanceof Error ? e.message : String(e)}\n`)
  stop(1)
}

/** Ends once everything is written: 0, or 1 with the write error. */
function done(): void {
  sub?.unsubscribe() // no more input
  out.flush().then(() => stop(0), failed)
}

/** Pipe to pipe, in the kernel, until the end of the input. */
async function copyPipes(): Promise<void> {
  try {
    await splicePipes(0, 1)
    stop(0)
  } catch (e) {
    // The reader of stdout went away (`… | head`): end quietly, as cat does.
    if (IoError.is(e) && e.errno === EPIPE) stop(141)
    else failed(e)
  }
}

if (fstatSync(0).isFIFO() && fstatSync(1).isFIFO()) void copyPipes()
else sub = stdin({ pace: () => out.ready() }).subscribe({
  next(ev) {
    if (ev.type === 'data') void out.write(ev.data) // a failure surfaces through pace (and flush)
    else if (ev.type === 'eof') {
      void err.write('^D\n')
      if (!keepReading) done()
    }
  },
  error: failed,
  complete: done,
})
