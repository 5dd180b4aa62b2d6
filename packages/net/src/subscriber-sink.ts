/**
 * The {@link ReadSink}s a connection hands its reader: a subscriber of
 * `data$` (or of a paced `read()`), and a subscriber of `lent$`.
 *
 * Classes, not object literals, for memory: a literal with a `closed`
 * getter and three arrow functions went to V8's dictionary mode, about
 * 700 bytes per connection with its closures (issue 18's heap snapshot at
 * 10 000 connections); an instance of one of these is 32 bytes and shares
 * its methods.
 *
 * @packageDocumentation
 */
import type { Subscriber } from 'rxjs'
import type { IoError } from '@ringio/core/transport'
import type { ReadSink, SocketReader } from './socket-reader.js'

/** The consumer's pace (see `ReadOptions.pace`): a promise the next receive waits for, or nothing. */
export type Pace = () => PromiseLike<unknown> | void

/** What both sinks forward as it is: the end, an error, and whether the subscriber is gone. */
abstract class ForwardingSink<T> implements ReadSink {
  constructor(protected readonly sub: Subscriber<T>) {}

  abstract next(data: Buffer, release: (() => void) | null): void

  complete(): void {
    this.sub.complete()
  }

  error(err: IoError): void {
    this.sub.error(err)
  }

  get closed(): boolean {
    return this.sub.closed
  }
}

/** Hands owned chunks to a `data$` subscriber; with a `pace`, holds the reader until each pace promise settles. */
export class SubscriberSink extends ForwardingSink<Buffer> {
  constructor(
    sub: Subscriber<Buffer>,
    private readonly reader: SocketReader,
    private readonly pace: Pace | undefined,
  ) {
    super(sub)
  }

  next(data: Buffer): void {
    this.sub.next(data)
    if (this.pace === undefined) return
    const wait = this.pace()
    if (wait === undefined || wait === null || typeof wait.then !== 'function') return
    const release = this.reader.hold()
    wait.then(release, (err: unknown) => {
      release()
      this.sub.error(err)
    })
  }
}

/** What `lent$` emits (`LentChunk` in connection.ts, which imports this file). */
interface Lent {
  readonly data: Buffer
  release(): void
}

/** Hands lent pool views to a `lent$` subscriber; chunks replayed from the backlog are owned copies, with nothing to give back. */
export class LentSink extends ForwardingSink<Lent> {
  next(data: Buffer, release: (() => void) | null): void {
    this.sub.next({ data, release: release ?? noop })
  }
}

function noop(): void {}
