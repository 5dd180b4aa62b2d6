/**
 * `BufferedReader`: a connection's one buffered reader, the core of framing —
 * the bytes received and not yet consumed, pulled from `conn.data$` (or
 * streamed into it, chunk by chunk), shared by the framed channels and the
 * pull helpers so bytes are never read twice nor lost between them.
 *
 * @packageDocumentation
 */
import type { Connection } from '../connection.js'
import { PullReader } from '../pull-reader.js'
import { ByteBuffer } from './byte-buffer.js'

/**
 * The one buffered reader of a connection: its received-but-unconsumed bytes
 * and the pull side of `conn.data$`. Reads are serialised (`exclusive`): a
 * helper called while another read (or a channel's `messages$`) is running
 * waits for it.
 */
export class BufferedReader {
  /** Bytes received and not yet consumed. */
  readonly buffer = new ByteBuffer()
  private readonly pull: PullReader
  private filling: Promise<boolean> | null = null
  private eof = false
  private tail: Promise<unknown> = Promise.resolve()

  constructor(conn: Connection) {
    this.pull = conn.pull()
  }

  /** True once the peer's EOF was read (the buffer may still hold bytes). */
  get ended(): boolean {
    return this.eof
  }

  /**
   * Appends the next received chunk to {@link buffer}.
   * @returns false at EOF; rejects with the connection's `IoError`
   */
  fill(): Promise<boolean> {
    // Single flight: an abandoned waiter and a new one share the same chunk, so none is lost.
    return (this.filling ??= this.pull.next().then(
      (chunk) => {
        this.filling = null
        if (chunk === null) {
          this.eof = true
          return false
        }
        this.buffer.append(chunk)
        return true
      },
      (err: unknown) => {
        this.filling = null
        throw err
      },
    ))
  }

  /**
   * Push mode, for a consumer that decodes as bytes arrive ({@link framed}):
   * each received chunk is appended to {@link buffer} and `onData` runs at
   * once, inside the connection's delivery (a send into a full queue made
   * there pauses the receive). Ends when `onData` returns false or `stop` is
   * called (resolves true), at EOF (false), or rejects with the connection's
   * error or what `onData` threw. Run it inside {@link exclusive}.
   */
  stream(onData: () => boolean): { done: Promise<boolean>; stop: () => void } {
    let settle!: (more: boolean) => void
    let fail!: (err: unknown) => void
    const done = new Promise<boolean>((resolve, reject) => ((settle = resolve), (fail = reject)))
    let detach: (() => void) | null = null
    let over = false
    const finish = (f: () => void): void => {
      if (over) return
      over = true
      detach?.()
      f()
    }
    const feed = (): void => {
      try {
        if (!onData()) finish(() => settle(true))
      } catch (err) {
        finish(() => fail(err))
      }
    }
    const start = (): void => {
      if (over) return
      detach = this.pull.drainTo({
        data: (chunk) => {
          // Appended even once over (chunks read ahead, handed over inside drainTo): never lost.
          this.buffer.append(chunk)
          if (!over) feed()
        },
        end: () => finish(() => ((this.eof = true), settle(false))),
        error: (err) => finish(() => fail(err)),
      })
      if (over) detach()
    }
    if (this.filling === null) start()
    else {
      // A read abandoned by an aborted helper may still wait for its chunk: it lands first.
      this.filling.then(
        (more) => {
          if (!more) return finish(() => settle(false))
          start()
          if (!over) feed() // the chunk it brought is in the buffer, unseen by onData
        },
        (err: unknown) => finish(() => fail(err)),
      )
    }
    return { done, stop: () => finish(() => settle(true)) }
  }

  /** Runs `task` after every read started before it settled (one reader at a time). */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.tail.then(task, task)
    this.tail = run.catch(noop)
    return run
  }
}

const readers = new WeakMap<Connection, BufferedReader>()

/**
 * The connection's buffered reader, created on first use. Once it exists it
 * is the connection's only consumer of `data$`: do not subscribe to
 * `conn.data$` yourself after using a helper or {@link framed} on `conn`.
 */
export function bufferedReader(conn: Connection): BufferedReader {
  let r = readers.get(conn)
  if (r === undefined) {
    r = new BufferedReader(conn)
    readers.set(conn, r)
  }
  return r
}

function noop(): void {}
