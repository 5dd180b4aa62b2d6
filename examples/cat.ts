/**
 * cat through @ringio/tty: copies stdin to stdout byte for byte.
 *
 *   node examples/dist/cat.js [--eof-markers] < in > out
 *   producer | node examples/dist/cat.js | consumer
 *
 * On an EOF marker (Ctrl-D on a terminal) it writes `^D` and a newline to
 * stderr; it then stops, or with `--eof-markers` keeps reading. It exits 0 at
 * the end of input, and quietly when the reader of stdout goes away (EPIPE).
 *
 * Safe anywhere in a shell pipeline: it never touches `process.stdin` or
 * `process.stdout` (Node would switch a shared pipe to O_NONBLOCK under the
 * processes beside it) and never changes the flags of fds 0-2.
 */
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

function writeFailed(e: unknown): void {
  // The reader left (`cat | head`): nothing more to do, and nothing to report.
  if ((e as { code?: unknown }).code === 'EPIPE') return stop(0)
  void err.write(`cat: ${e instanceof Error ? e.message : String(e)}\n`)
  stop(1)
}

sub = stdin({ pace: () => out.ready() }).subscribe({
  next(ev) {
    if (ev.type === 'data') {
      out.write(ev.data).catch(writeFailed)
    } else if (ev.type === 'eof') {
      void err.write('^D\n')
      if (!keepReading) stop(0)
    }
  },
  error(e: unknown) {
    void err.write(`cat: ${e instanceof Error ? e.message : String(e)}\n`)
    stop(1)
  },
  complete() {
    stop(0)
  },
})
