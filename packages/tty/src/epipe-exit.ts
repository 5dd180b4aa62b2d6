/**
 * A {@link Proactor} view for a writer that ends the process on `EPIPE`
 * (`onEpipe: 'exit'`, stdout's and stderr's default): a write that completes
 * with `-EPIPE` is reported to the writer, and when the writer takes it as
 * the signal to exit, the completion goes no further — the write queue never
 * learns of it, and the write's Promise never settles.
 *
 * Why swallow it rather than reject: a C program's write to a pipe whose
 * reader left never returns (SIGPIPE kills it there), and code written for
 * that — `for (…) await out.write(x)` in a module's top level, a
 * `.catch(e => { console.error(e); … })` — must not run on into a stack trace
 * or a second message while the exit (status 141) is under way. Every other
 * result, and `-EPIPE` when the writer handles it (`onEpipe: 'error'`), goes
 * to the queue as usual.
 *
 * @packageDocumentation
 * @internal
 */
import { EPIPE, type Completion, type OpId, type Proactor, type StartOptions } from '@ringio/core'
import { proactorView } from './proactor-view.js'

/**
 * Wraps `p`: `write`, `writev` and `send` completions of `-EPIPE` call
 * `onEpipe()`, and are dropped when it returns true.
 *
 * @param p the proactor (view) the writer's queue writes through
 * @param onEpipe true: the process is exiting, drop the completion
 */
export function withEpipeExit(p: Proactor, onEpipe: () => boolean): Proactor {
  // One relay per target, made once: the writer's queue is the target of
  // every submission, so a write allocates nothing here.
  let target: Completion | null = null
  let relayed: Completion | null = null
  const relay = (c: Completion): Completion => {
    if (c !== target || relayed === null) {
      target = c
      relayed = {
        complete(res, flags) {
          if (res === -EPIPE && onEpipe()) return
          c.complete(res, flags)
        },
      }
    }
    return relayed
  }
  return proactorView(p, {
    write: (fd: number, buf: Uint8Array, off: number, c: Completion, opts?: StartOptions): OpId => p.write(fd, buf, off, relay(c), opts),
    writev: (fd: number, bufs: readonly Uint8Array[], off: number, c: Completion, opts?: StartOptions): OpId => p.writev(fd, bufs, off, relay(c), opts),
    send: (fd: number, buf: Uint8Array, flags: number, c: Completion, opts?: StartOptions): OpId => p.send(fd, buf, flags, relay(c), opts),
  })
}
