/**
 * `framed()`: a byte-stream `Connection` seen through a {@link Codec} as a
 * {@link Channel} of frames.
 *
 * @packageDocumentation
 */
import { Observable, type Subscriber } from 'rxjs'
import { closedChannelError, IoError, type Channel } from '@ringio/core/transport'
import type { Connection } from '../connection.js'
import type { SocketAddress } from '../sockaddr.js'
import { decodeEof, type Codec } from './codec.js'
import { bufferedReader, type BufferedReader } from './buffered-reader.js'

/**
 * A connection framed by a codec: `messages$` emits decoded frames, `send()`
 * encodes and writes through the connection's ordered write queue.
 *
 * # Errors
 * - a frame over the codec's `maxFrame` (or any error the decoder throws):
 *   `messages$` errors with it (`FrameTooLargeError`…) and the connection is
 *   closed — after the sends already accepted were written;
 * - EOF inside a frame: `messages$` errors with `PartialFrameError`;
 * - the socket's own failure: `messages$` errors with its `IoError`.
 *
 * # Cancel safety
 * Unsubscribing loses nothing: received bytes stay in the connection's
 * buffered reader, for the next subscriber or a {@link readExactly}/{@link readUntil}.
 */
export class FramedChannel<In, Out = In> implements Channel<In, Out> {
  /** The decoded frames, in order. One subscriber at a time. Completes at the peer's EOF (after a clean frame boundary). */
  readonly messages$: Observable<In>
  private readonly reader: BufferedReader
  private active: Subscriber<In> | null = null
  /** Ends the push phase of the running `pump` (an unsubscribe must not wait for the next chunk). */
  private stopStream: (() => void) | null = null
  private isClosed = false

  /**
   * @param conn the byte stream (its reading now belongs to this channel and the read helpers)
   * @param codec a codec instance for this connection only (decoders keep per-stream state)
   */
  constructor(
    readonly conn: Connection,
    readonly codec: Codec<In, Out>,
  ) {
    this.reader = bufferedReader(conn)
    this.messages$ = new Observable<In>((sub) => {
      if (this.active !== null) {
        sub.error(new Error('ringio: this channel already has a subscriber (subscribe to messages$ once)'))
        return
      }
      this.active = sub
      void this.reader.exclusive(() => this.pump(sub))
      return () => {
        if (this.active !== sub) return
        this.active = null
        this.stopStream?.()
      }
    })
  }

  /** Resolves when the connection's fd is closed. */
  get closed(): Promise<void> {
    return this.conn.closed
  }

  /** Bytes accepted by `send()` and not yet taken by the kernel. */
  get writableLength(): number {
    return this.conn.writableLength
  }

  /** False while the send queue is at or above the connection's high-water mark. */
  get writable(): boolean {
    return this.conn.writable
  }

  /** Emits when the send queue empties after reaching the high-water mark. */
  get drain$(): Observable<void> {
    return this.conn.drain$
  }

  /** Resolves once the send queue is below its high-water mark; rejects with `EPIPE` once closed. */
  ready(): Promise<void> {
    return this.conn.ready()
  }

  /**
   * Decodes and hands out every whole frame in `buffer`, as a delivery of
   * the connection's data: a `send()` (on any connection) that a frame's
   * callback makes into a full queue pauses this connection's receive.
   */
  private handOut(sub: Subscriber<In>, buffer: BufferedReader['buffer']): void {
    const outer = this.conn.beginDelivery()
    try {
      // Check before each decode: a frame decoded after an unsubscribe would be lost.
      while (this.active === sub && !this.conn.braked) {
        const frame = this.codec.decode(buffer)
        if (frame === undefined) break
        sub.next(frame)
      }
    } finally {
      this.conn.endDelivery(outer)
    }
  }

  /**
   * Encodes `msg` and queues it behind every earlier send. Past the
   * connection's high-water mark the send is still accepted; made from a
   * ringio callback (`messages$`, `data$`) it pauses that source until this
   * queue drains. Otherwise wait for {@link ready} or `drain$`.
   * @returns rejects with the encoder's error (`FrameTooLargeError`, TypeError…;
   * nothing is written then), `IoError` `EPIPE` once closed, or the socket's error
   */
  send(msg: Out): Promise<void> {
    if (this.isClosed) return Promise.reject(closedChannelError('send', this.conn.fd))
    let data
    try {
      data = this.codec.encode(msg)
    } catch (err) {
      return Promise.reject(err)
    }
    return this.conn.write(data)
  }

  /**
   * Half-close: writes every frame already accepted, then sends FIN; the
   * peer reads EOF. `messages$` goes on until the peer's own EOF. Later sends
   * reject with `EPIPE`.
   */
  end(): Promise<void> {
    return this.conn.end()
  }

  /**
   * Graceful: stops receiving (`messages$` completes), writes every frame
   * already accepted, sends FIN, then closes the connection. Idempotent.
   * {@link destroy} is the abrupt form.
   */
  close(): void {
    if (this.isClosed) return
    this.stopReceiving()
    void this.conn.end().finally(() => this.conn.close())
  }

  /**
   * Abrupt: stops receiving (`messages$` completes) and destroys the
   * connection now; frames not yet written reject with `ECANCELED`, later
   * sends with `EPIPE`. Idempotent; also cuts a graceful {@link close} short.
   */
  destroy(): void {
    if (!this.isClosed) this.stopReceiving()
    this.conn.destroy()
  }

  /** The connection's local address. */
  get localAddress(): SocketAddress {
    return this.conn.localAddress
  }

  /** The connection's peer address. */
  get remoteAddress(): SocketAddress {
    return this.conn.remoteAddress
  }

  private stopReceiving(): void {
    this.isClosed = true
    const sub = this.active
    this.active = null
    this.stopStream?.()
    sub?.complete()
  }

  private async pump(sub: Subscriber<In>): Promise<void> {
    const { buffer } = this.reader
    try {
      // Never emit inside subscribe(), where the subscriber's own Subscription does not exist yet.
      await Promise.resolve()
      for (;;) {
        this.handOut(sub, buffer)
        if (this.active !== sub) return
        if (this.conn.braked) {
          // A send made from a frame's callback filled a queue: decode no further frames until it drains.
          await this.conn.unbraked()
          continue
        }
        // Frames are decoded as each chunk arrives, inside its delivery: no Promise per chunk. The
        // stream stops at an unsubscribe, or at a brake with frames left (handed out above once it lifts).
        const run = this.reader.stream(() => {
          this.handOut(sub, buffer)
          return this.active === sub && !this.conn.braked
        })
        this.stopStream = run.stop
        const more = await run.done
        this.stopStream = null
        if (!more) break
      }
      while (this.active === sub) {
        const frame = decodeEof(this.codec, buffer)
        if (frame === undefined) break
        sub.next(frame)
      }
      if (this.active === sub) {
        this.active = null
        sub.complete()
      }
    } catch (err) {
      if (this.active === sub) this.active = null
      if (!this.isClosed && !IoError.is(err)) {
        // A corrupt or hostile stream: flush what was accepted, then close.
        this.isClosed = true
        void this.conn.end().finally(() => this.conn.close())
      }
      sub.error(err)
    }
  }
}

/**
 * Frames `conn` with `codec`: a {@link Channel} of the codec's frames. Use it
 * for your own protocol; {@link lengthPrefixed} and {@link delimited} are
 * this with a built-in codec.
 *
 * ## Example
 * ```ts
 * const ch = framed(conn, new RespCodec())
 * ch.messages$.subscribe((cmd) => ch.send(reply(cmd)))
 * ```
 * @param conn a connected byte stream; its reading now belongs to the channel (and the read helpers)
 * @param codec a codec instance for this connection only
 */
export function framed<In, Out = In>(conn: Connection, codec: Codec<In, Out>): FramedChannel<In, Out> {
  return new FramedChannel(conn, codec)
}
