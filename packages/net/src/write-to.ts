/**
 * `writeTo(dest)`: the RxJS end of a pipe — every value of the source written
 * to a connection, in order, with backpressure, end and errors carried over.
 *
 * @packageDocumentation
 */
import { Observable, type OperatorFunction } from 'rxjs'
import type { WriteData } from '@ringio/core'

/** What {@link writeTo} writes into: a {@link Connection}, or anything shaped like one. */
export interface WriteTarget {
  /** Queues `data`; resolves once it is written, rejects with the write's error (`IoError`). */
  write(data: WriteData): Promise<void>
  /** Half-closes after the queued writes; resolves once done. */
  end(): Promise<void>
  /** Closes at once; queued writes reject. */
  close(): void
  /** Resolves when the target is closed (by anyone). */
  readonly closed: Promise<void>
}

/** Options of {@link writeTo}. */
export interface WriteToOptions {
  /** Half-close `dest` (`end()`) when the source completes. Default true. */
  end?: boolean
}

/**
 * Writes each value of the source to `dest` as it comes, in order: the RxJS
 * counterpart of Node's `pipe()`.
 *
 * Backpressure: when the source is a ringio stream (`conn.data$`,
 * `conn.read()`, a channel's `messages$` encoded with `map`), each write is
 * made inside the source's delivery, so a write that fills `dest`'s queue to
 * its high-water mark pauses the source's kernel receive until `dest` drains:
 * memory stays bounded by the two high-water marks, whatever the speeds.
 * Synchronous operators in between (`map`, `filter`, `tap`) keep that; a
 * source that is not ringio's cannot be paused and is only written.
 *
 * ## Example
 * ```ts
 * // A proxy direction: client → upstream, upstream half-closed at the client's EOF.
 * client.data$.pipe(writeTo(upstream)).subscribe({ error: () => client.close() })
 * ```
 * The result completes once the source completed and `dest.end()` finished
 * (at once with `end: false`).
 *
 * Errors: the source's error (then `dest` is closed); the first write or end
 * that rejects (`IoError` `EPIPE`, `ECONNRESET`…; the source is unsubscribed).
 *
 * # Cancel safety
 * Unsubscribing unsubscribes the source (a connection's receive is
 * cancelled, nothing is lost there) and leaves `dest` open: writes already
 * accepted still go out. When `dest` is closed by anyone, the source is
 * unsubscribed and the result completes.
 *
 * @param dest the connection written to
 * @param opts `end` (default true): half-close `dest` when the source completes
 */
export function writeTo(dest: WriteTarget, opts: WriteToOptions = {}): OperatorFunction<WriteData, never> {
  const endDest = opts.end !== false
  return (source) =>
    new Observable<never>((out) => {
      let done = false
      const fail = (err: unknown): void => {
        if (done) return
        done = true
        inner.unsubscribe()
        out.error(err)
      }
      const inner = source.subscribe({
        next: (data) => {
          if (!done) dest.write(data).catch(fail)
        },
        error: (err: unknown) => {
          if (done) return
          done = true
          dest.close()
          out.error(err)
        },
        complete: () => {
          if (done) return
          if (!endDest) {
            done = true
            out.complete()
            return
          }
          dest.end().then(
            () => {
              if (done) return
              done = true
              out.complete()
            },
            fail,
          )
        },
      })
      void dest.closed.then(() => {
        if (done) return
        done = true
        inner.unsubscribe()
        out.complete()
      })
      return () => {
        done = true
        inner.unsubscribe()
      }
    })
}
