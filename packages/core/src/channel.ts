/**
 * Message channels: the shape every message-oriented transport shares (UDP,
 * Unix SOCK_SEQPACKET, a byte stream framed by a codec), and the ordered
 * `MessageQueue` (`message-queue.ts`) that sends one whole message per operation.
 *
 * A byte stream's {@link WriteQueue} coalesces writes into one writev; on a
 * SOCK_SEQPACKET or datagram socket that would send *one* record holding all
 * of them and break the boundaries. A message queue never coalesces.
 *
 * @packageDocumentation
 */
import type { Observable } from 'rxjs'

/**
 * A bidirectional channel of whole messages: what arrives is `messages$`,
 * what leaves is `send()`. Boundaries are preserved end to end, empty
 * messages included where the transport has them.
 *
 * ## Example
 * ```ts
 * const ch: Channel<Buffer> = await seqpacket.connect({ path: '\0svc' })
 * ch.messages$.subscribe((m) => console.log(`got ${m.length} bytes`))
 * await ch.send(Buffer.from('hello'))    // one message, in call order
 * ch.close()
 * ```
 *
 * # Cancel safety
 * Unsubscribing from `messages$` stops receiving; a message that raced the
 * cancel is kept for the next subscriber (implementations document any
 * exception). One subscriber at a time.
 *
 * @typeParam In what `messages$` emits
 * @typeParam Out what `send()` accepts (defaults to `In`)
 */
export interface Channel<In, Out = In> {
  /** The received messages, one emission per message. Completes when the peer is done; errors with the transport's or the protocol's error. */
  readonly messages$: Observable<In>
  /**
   * Queues one message behind every earlier one; resolves when the kernel
   * took it whole. Rejects with `IoError` `EPIPE` once the channel is closed,
   * or with the reason the message could not be sent.
   */
  send(msg: Out): Promise<void>
  /**
   * Closes the channel: messages already accepted by `send()` are still sent
   * (or reject with the reason), later sends reject with `EPIPE`, receiving
   * stops and `messages$` completes. Idempotent.
   */
  close(): void
  /** Resolves once the underlying handle is released. */
  readonly closed: Promise<void>
}


const TRUNCATED = Symbol.for('ringio.MessageTruncatedError')

/**
 * A received message was longer than the receive buffer (the kernel set
 * `MSG_TRUNC`): its tail is gone. Raised instead of delivering a silently
 * cut message; raise `maxMessage` if your protocol needs bigger ones.
 */
export class MessageTruncatedError extends Error {
  /** The message's real length, when the transport reports it (else -1). */
  readonly size: number
  /** The receive buffer's capacity. */
  readonly capacity: number
  /** Marker for {@link MessageTruncatedError.is}. */
  readonly [TRUNCATED] = true

  constructor(size: number, capacity: number) {
    super(`message of ${size >= 0 ? `${size} bytes` : 'unknown size'} truncated to the receive buffer of ${capacity} bytes (MSG_TRUNC); raise maxMessage`)
    this.name = 'MessageTruncatedError'
    this.size = size
    this.capacity = capacity
  }

  /** True for any `MessageTruncatedError`, even from another copy of the package. */
  static is(x: unknown): x is MessageTruncatedError {
    return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[TRUNCATED] === true
  }
}
