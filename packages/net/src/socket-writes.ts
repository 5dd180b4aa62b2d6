/**
 * The write side of a {@link NodeSocket}: how Node's `_write`/`_writev` map
 * onto the connection's ordered write queue — at once inside a ringio
 * delivery, in the shared batch (`write-batch.ts`) outside one — and the
 * bounded flush of what was already handed over when the socket is destroyed.
 *
 * @packageDocumentation
 */
import { clearTimeout, setTimeout as startTimer } from 'node:timers'
import { ECANCELED, IoError, type WriteData } from '@ringio/core/transport'
import type { Connection } from './connection.js'
import { currentDelivery } from './delivery.js'
import { inNextBatch } from './write-batch.js'

/** How long a destroyed socket waits for writes already handed to the kernel queue to go out before the fd is closed. */
const DESTROY_FLUSH_MS = 1000

/** A write waiting for the next batch (see `write-batch.ts`). */
interface DeferredWrite {
  data: WriteData
  copied: boolean
  cb: (err?: Error | null) => void
}

/** The writes of one socket into its connection. @internal */
export class SocketWrites {
  /** Bytes handed over for sending (sent or queued). */
  bytes = 0
  private lastWrite: Promise<void> | null = null
  /** Writes waiting for the next batch (see {@link send}); null when none waits. */
  private deferred: DeferredWrite[] | null = null

  /**
   * @param conn the connection written to
   * @param activity called at each write and write completion (the idle timer)
   * @param destroyed whether the socket is destroyed (its own close cancels writes: not an error then)
   */
  constructor(
    private readonly conn: Connection,
    private readonly activity: () => void,
    private readonly destroyed: () => boolean,
  ) {}

  /**
   * Queues `data` (`n` bytes). Inside a ringio delivery it goes to the
   * connection at once (the wakeup's enter takes it); outside one (a timer,
   * an immediate, Node's `JSStreamSocket` completing a TLS write) it waits
   * for the next shared batch, so that many sockets' writes share one enter.
   * Once a write waits, later ones queue behind it: the order is kept.
   */
  send(data: WriteData, copied: boolean, n: number, cb: (err?: Error | null) => void): void {
    this.bytes += n
    this.activity()
    if (this.deferred === null && currentDelivery() !== null) return this.issue(data, copied, cb)
    if (this.deferred === null) {
      this.deferred = []
      inNextBatch(this.flushDeferred)
    }
    this.deferred.push({ data, copied, cb })
  }

  /**
   * The socket is destroyed: writes waiting for their batch count as handed
   * over (net.Socket's went to the kernel at write()) and go to the
   * connection now. What is in the connection's queue is let out (a 408
   * written just before destroy must reach the client), but not after a
   * reset, not when the peer stopped reading (queue full) and never for
   * longer than DESTROY_FLUSH_MS; then the connection is closed.
   */
  closeAfterFlush(reset: boolean): void {
    const waiting = this.deferred
    this.deferred = null
    if (waiting !== null) for (const w of waiting) this.issue(w.data, w.copied, w.cb)
    const conn = this.conn
    const flush = this.lastWrite
    if (flush !== null && !reset && conn.writableLength > 0 && conn.writable) {
      let timer: ReturnType<typeof startTimer> | null = null
      const close = (): void => {
        if (timer !== null) clearTimeout(timer)
        conn.close()
      }
      timer = startTimer(close, DESTROY_FLUSH_MS)
      flush.then(close, close)
    } else {
      conn.close()
    }
  }

  private readonly flushDeferred = (): void => {
    const writes = this.deferred
    this.deferred = null
    if (writes === null || this.destroyed()) return
    for (const w of writes) this.issue(w.data, w.copied, w.cb)
  }

  /**
   * Hands `data` to the connection. `copied` says nobody else holds its
   * bytes (ringio copied them, or we made them from a string): then the
   * write completes at once while the queue is below its high-water mark.
   * Otherwise it completes when the kernel took it, so the caller's buffer
   * is ours until then.
   */
  private issue(data: WriteData, copied: boolean, cb: (err?: Error | null) => void): void {
    const conn = this.conn
    const p = conn.write(data)
    this.lastWrite = p
    // A failure after this is not lost: the connection errors data$ (the socket's 'error') and
    // fails every later write and end() with it.
    if (copied && conn.writable) return cb()
    p.then(
      () => {
        this.activity()
        cb()
      },
      // Our own close cancels queued writes: not an error worth reporting.
      (err: Error) => cb(this.destroyed() && IoError.is(err) && err.errno === ECANCELED ? null : err),
    )
  }
}
