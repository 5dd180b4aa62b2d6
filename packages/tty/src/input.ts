/**
 * Input streams: `stdin()` and `input(fd)`, as Observables of
 * {@link InputEvent}s, safe on descriptors shared with the parent shell.
 *
 * @packageDocumentation
 */
import { Observable } from 'rxjs'
import { fdKind, type FdKind } from './fd-kind.js'
import { readerFor, type Consumer, type ReadResult } from './fd-reader.js'
import type { InputEvent } from './input-event.js'
import { setRawMode, type RawMode } from './raw-mode.js'

/** Options of {@link stdin} and {@link input}. */
export interface StdinOptions {
  /**
   * On a terminal, a zero-byte read (Ctrl-D) is an EOF *marker*: emit
   * `{ type: 'eof' }` and keep reading (default `true`). With `false` the
   * first marker ends the stream (`{ type: 'end' }`, then complete), as most
   * line-oriented tools expect. Pipes, files and sockets always end at their
   * real end.
   */
  eofMarkers?: boolean
  /**
   * Put the terminal in raw mode while subscribed (see `setRawMode`): the
   * previous attributes come back on unsubscribe, exit and fatal signals.
   * Ignored when the fd is not a terminal, so the same code works in a pipe.
   */
  raw?: boolean
  /**
   * Backpressure: called after each `data` event; when it returns a Promise,
   * the next read waits for it. E.g. `pace: () => out.ready()` reads no faster
   * than stdout drains. When the Promise rejects, reading stops and the stream
   * errors with the reason — with `out.ready()`, the writer's `IoError` once it
   * has failed. (When stdout's reader goes away, `EPIPE`, the process instead
   * ends with status 141 by default, like `cat`: see `stdout()`.)
   */
  pace?: () => PromiseLike<unknown> | void
}

/** Options of {@link input}: {@link StdinOptions} plus who owns the fd. */
export interface InputOptions extends StdinOptions {
  /**
   * `true`: the fd's open file description may be shared with other processes;
   * ringio never changes its flags. `false`: the caller hands the fd over;
   * ringio may make it non-blocking (on the poll backend). Fds 0-2 are always
   * treated as shared.
   */
  shared: boolean
}

/**
 * Reads stdin (fd 0) as a stream of events: `data` (owned Buffers), `eof`
 * (an EOF marker: Ctrl-D on a terminal; reading goes on) and `end` (the real
 * end, after which the stream completes). Errors with `IoError` (`EBADF` for a
 * closed fd, `EIO` for a terminal we may not read, …), or with what a `pace`
 * Promise rejected with.
 *
 * Never changes the shared file description: no O_NONBLOCK, no F_SETFL, and
 * `process.stdin` is never touched (Node would make a pipe non-blocking).
 * A pipe is read through a private non-blocking description of the same pipe
 * (reopened from `/proc/self/fd/N`), synchronously while it has data, with a
 * cancellable wait for POLLIN when it is empty. A terminal: io_uring reads the
 * blocking fd through the kernel's async workers; the poll backend reads a
 * private description of the same terminal.
 *
 * One subscriber at a time per fd (a second concurrent one gets an error;
 * use `share()` to fan out). While subscribed, the process stays alive.
 *
 * ## Example
 * A filter: copies stdin to stdout, reading no faster than stdout drains.
 * It ends by itself at the end of input and — with status 141, quietly, as
 * `cat` does — when the reader of stdout goes away (`… | head`).
 * ```ts
 * import { stdin, stdout } from '@ringio/tty'
 * const out = stdout()
 * stdin({ pace: () => out.ready() }).subscribe((ev) => {
 *   if (ev.type === 'data') void out.write(ev.data)
 *   if (ev.type === 'eof') void out.write('^D\n')
 * })
 * ```
 *
 * # Cancel safety
 * Unsubscribing cancels the pending read (ASYNC_CANCEL, or the reactor's
 * cancel) and releases the process at once: a read still pending never keeps
 * it alive nor delays its exit. If that read completes anyway with bytes (the
 * cancel lost the race), they are not lost: the next subscriber to the same
 * fd receives them first. Without `/proc`, a shared pipe is read like a
 * terminal (io_uring: a cancellable READ); on the poll backend a shared pipe
 * or terminal then falls back to a blocking threadpool read, which cannot be
 * interrupted: the process then waits for one more line or the end of input.
 *
 * @param opts `eofMarkers` (default true), `raw`, `pace`
 * @returns a cold Observable; each subscription reads until it ends or unsubscribes
 */
export function stdin(opts: StdinOptions = {}): Observable<InputEvent> {
  return input(0, { ...opts, shared: true })
}

/**
 * {@link stdin} for any fd: a terminal, pipe, socket or file you hold.
 *
 * ## Example
 * ```ts
 * import { openSync } from 'node:fs'
 * import { input } from '@ringio/tty'
 * const tty = openSync('/dev/tty', 'r')
 * input(tty, { shared: false, raw: true }).subscribe(onKey)
 * ```
 * @param fd the descriptor
 * @param opts `shared` (required for fds above 2), plus the {@link StdinOptions}
 * @throws TypeError for a bad fd or a missing `shared`
 */
export function input(fd: number, opts: InputOptions): Observable<InputEvent> {
  if (!Number.isInteger(fd) || fd < 0) throw new TypeError(`fd must be a non-negative integer, got ${String(fd)}`)
  if (typeof opts?.shared !== 'boolean') throw new TypeError('input: opts.shared must be true (the fd may be shared with other processes) or false (ringio may change it)')
  const shared = fd <= 2 || opts.shared
  const eofMarkers = opts.eofMarkers !== false
  return new Observable<InputEvent>((subscriber) => {
    let kind: FdKind
    try {
      kind = fdKind(fd)
    } catch (err) {
      subscriber.error(err)
      return
    }
    let raw: RawMode | undefined
    const consumer: Consumer = {
      pace: opts.pace,
      deliver(r: ReadResult): boolean {
        switch (r.kind) {
          case 'data':
            subscriber.next({ type: 'data', data: r.data })
            return !subscriber.closed
          case 'zero':
            if (kind === 'tty' && eofMarkers && !r.hangup) {
              subscriber.next({ type: 'eof' })
              return !subscriber.closed
            }
            subscriber.next({ type: 'end' })
            subscriber.complete()
            return false
          case 'error':
            subscriber.error(r.error)
            return false
        }
      },
    }
    let reader: ReturnType<typeof readerFor>
    try {
      reader = readerFor(fd, shared)
      if (opts.raw === true && kind === 'tty') raw = setRawMode(true, { fd })
      reader.attach(consumer)
    } catch (err) {
      raw?.restore()
      subscriber.error(err)
      return
    }
    return () => {
      reader.detach(consumer)
      raw?.restore()
    }
  })
}
