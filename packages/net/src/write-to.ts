/**
 * `writeTo(dest)`: the RxJS end of a pipe — every value of the source written
 * to a connection, in order, with backpressure, end and errors carried over.
 *
 * @packageDocumentation
 */
import { Observable, type OperatorFunction } from 'rxjs'
import { DEFAULT_COPY_THRESHOLD, type WriteData } from '@ringio/core/transport'
import { lendingSource, type LentChunk } from './connection.js'
import { readPool } from './read-pool.js'

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
 * Zero copy: piped straight from a connection (`conn.data$.pipe(writeTo(dest))`,
 * nothing in between), the received pool buffers themselves are sent, each
 * going back to the shared read pool once `dest`'s kernel took it — while
 * at most half of the pool is out this way; past that, chunks are copied, so
 * slow destinations can never starve other connections' receives.
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
      const observer = {
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
      }
      const lender = lendingSource(source)
      // Read once: the pool the connection's chunks are lent from.
      const pool = lender === null ? null : readPool()
      const inner =
        lender === null
          ? source.subscribe({
              ...observer,
              next: (data: WriteData) => {
                if (!done) dest.write(data).catch(fail)
              },
            })
          : lender.lent$.subscribe({
              ...observer,
              next: (chunk: LentChunk) => {
                if (done) return chunk.release()
                if (chunk.data.length <= DEFAULT_COPY_THRESHOLD || pool!.available * 2 < pool!.count) {
                  // Small (the queue copies it anyway), or the pool is half lent out: copy, give the buffer back now.
                  const data = chunk.data.length <= DEFAULT_COPY_THRESHOLD ? chunk.data : Buffer.from(chunk.data)
                  const w = dest.write(data)
                  chunk.release()
                  w.catch(fail)
                  return
                }
                // Zero-copy: the pool buffer itself is sent, and goes back to the pool when the send took it.
                dest.write(chunk.data).then(chunk.release, (err: unknown) => {
                  chunk.release()
                  fail(err)
                })
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
