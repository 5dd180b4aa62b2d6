import type { Observable } from 'rxjs'
import type { MessageQueue } from '@ringio/core/transport'

/**
 * What UDP and SEQPACKET channels share: an ordered send queue of whole
 * messages and its backpressure surface.
 */
export abstract class QueuedSends<Q> {
  /** The channel's send queue (one message per sendmsg, never coalesced). */
  protected abstract readonly queue: MessageQueue<Q>
  /** Set by `close()`: sends are refused from then on. */
  protected isClosed = false

  /**
   * Messages accepted by `send()` and not yet sent: the backpressure count,
   * named as on a `Connection` (whose unit is bytes) and on a Node stream in
   * object mode.
   */
  get writableLength(): number {
    return this.queue.size
  }

  /** @deprecated Use {@link writableLength} (same value); removed in the next minor release. */
  get pendingSends(): number {
    return this.queue.size
  }

  /** False while the send queue is at or above its high-water mark, or once closed. */
  get writable(): boolean {
    return this.queue.writable && !this.isClosed
  }

  /** Emits when the send queue empties after reaching its high-water mark. */
  get drain$(): Observable<void> {
    return this.queue.drain$
  }
}

