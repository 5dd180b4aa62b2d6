/**
 * A {@link Proactor} view whose writes never complete with EAGAIN.
 *
 * A shared stdout may have been made non-blocking by *another* process that
 * shares the description (a sibling Node process touching `process.stdout`).
 * We may not clear the flag; the poll backend already waits for readiness on
 * such fds, but an io_uring kernel that honours O_NONBLOCK for WRITE posts
 * `-EAGAIN` instead of polling, and the core write queue would fail on it.
 * This view turns that `-EAGAIN` into a one-shot POLLOUT poll and the same
 * write again, so the queue only ever sees real results.
 *
 * @packageDocumentation
 * @internal
 */
import { EAGAIN, ECANCELED, PollEvents, type Completion, type OpId, type Proactor, type StartOptions } from '@ringio/core'
import { proactorView } from './proactor-view.js'


/**
 * Wraps `p`: `write`, `writev` and `send` retry after POLLOUT on `-EAGAIN`;
 * `cancel` follows the retries; everything else is `p` itself.
 */
export function withEagainRetry(p: Proactor): Proactor {
  /** Our id -> the inner operation now in flight (the write, or the poll between two tries). */
  const live = new Map<OpId, { inner: OpId; cancelled: boolean }>()
  let next = 2 ** 40 // above any id of the proactor's own slot table

  function retrying(fd: number, c: Completion, opts: StartOptions | undefined, start: (t: Completion) => OpId): OpId {
    const id = next++
    const op = { inner: -1, cancelled: false }
    const finish = (res: number, flags: number): void => {
      live.delete(id)
      c.complete(res, flags)
    }
    const attempt: Completion = {
      complete(res, flags) {
        if (res === -EAGAIN && !op.cancelled) op.inner = p.poll(fd, PollEvents.OUT, false, writable, opts)
        else finish(res, flags)
      },
    }
    const writable: Completion = {
      complete(res) {
        // A failed or cancelled poll is the write's result (-ECANCELED after cancel).
        if (res < 0 || op.cancelled) finish(res < 0 ? res : -ECANCELED, 0)
        else op.inner = start(attempt)
      },
    }
    live.set(id, op)
    op.inner = start(attempt)
    return id
  }

  return proactorView(p, {
    write: (fd: number, buf: Uint8Array, off: number, c: Completion, opts?: StartOptions): OpId => retrying(fd, c, opts, (t) => p.write(fd, buf, off, t, opts)),
    writev: (fd: number, bufs: readonly Uint8Array[], off: number, c: Completion, opts?: StartOptions): OpId =>
      retrying(fd, c, opts, (t) => p.writev(fd, bufs, off, t, opts)),
    send: (fd: number, buf: Uint8Array, flags: number, c: Completion, opts?: StartOptions): OpId => retrying(fd, c, opts, (t) => p.send(fd, buf, flags, t, opts)),
    cancel: (id: OpId): void => {
      const op = live.get(id)
      if (op === undefined) return p.cancel(id)
      op.cancelled = true
      p.cancel(op.inner)
    },
  })
}
