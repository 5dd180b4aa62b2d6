/**
 * A {@link Proactor} view whose writes run in the kernel's io-wq workers
 * (`StartOptions.async`, io_uring `IOSQE_ASYNC`): for terminals and other
 * character devices.
 *
 * Why: a terminal's write does not honour `IOCB_NOWAIT`. io_uring's inline
 * attempt goes ahead as soon as poll reports some room, then blocks in
 * `n_tty_write` — inside `io_uring_enter`, on the JS thread — until the
 * terminal has taken the whole buffer. A terminal that stops reading (Ctrl-S,
 * a pager waiting for a key, a stalled ssh session) then freezes the event
 * loop: no timer, no signal handler, not even `exit({ timeout })` runs.
 * Measured on Linux 6.18: 1 MiB written to a PTY nobody reads held the
 * process in `n_tty_write` from `io_uring_enter` until killed; with
 * `IOSQE_ASYNC` a worker thread blocks instead, the loop keeps running, and
 * `cancel` interrupts the worker (the write completes with the bytes it
 * wrote, or `-ECANCELED`).
 *
 * Not for pipes: there the worker tries non-blocking and poll-arms too, so
 * it only adds a thread hop (see `bulk-pipe.ts`). The poll backend ignores
 * the hint (it writes a blocking fd on the threadpool anyway).
 *
 * @packageDocumentation
 * @internal
 */
import type { Completion, OpId, Proactor, StartOptions } from '@ringio/core'
import { proactorView } from './proactor-view.js'

const ASYNC: StartOptions = { async: true }

const withAsync = (opts: StartOptions | undefined): StartOptions => (opts === undefined ? ASYNC : { ...opts, async: true })

/** Wraps `p`: `write` and `writev` start with `async: true`; everything else is `p` itself. */
export function withAsyncWrites(p: Proactor): Proactor {
  return proactorView(p, {
    write: (fd: number, buf: Uint8Array, off: number, c: Completion, opts?: StartOptions): OpId => p.write(fd, buf, off, c, withAsync(opts)),
    writev: (fd: number, bufs: readonly Uint8Array[], off: number, c: Completion, opts?: StartOptions): OpId => p.writev(fd, bufs, off, c, withAsync(opts)),
  })
}
