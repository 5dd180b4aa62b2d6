/**
 * The lifecycle the message channels (UDP, SEQPACKET) share: a graceful
 * `close()` (stop receiving, send what was accepted, then close the fd), an
 * abrupt `destroy()`, and the one path that releases the fd.
 *
 * @packageDocumentation
 */
import { sockets, type Proactor } from '@ringio/core/transport'
import { QueuedSends } from './queued-sends.js'

/** A message channel that owns its fd: its send queue, receiver and fd close together. */
export abstract class ClosableChannel<Q> extends QueuedSends<Q> {
  /** The socket's fd (owned). */
  abstract readonly fd: number
  /** Resolves once the fd is closed. */
  readonly closed: Promise<void>
  /** @internal */
  protected abstract readonly proactor: Proactor
  /** @internal */
  protected abstract readonly receiver: { stop(): void }
  private fdClosed = false
  private resolveClosed!: () => void

  constructor() {
    super()
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve))
  }

  /**
   * Graceful: stops receiving (`messages$` completes), sends every message
   * already accepted, then closes the fd (a SEQPACKET peer sees EOF after the
   * last one). Later sends reject with `EPIPE`. Idempotent. {@link destroy}
   * is the abrupt form.
   */
  close(): void {
    if (this.isClosed) return
    this.isClosed = true
    this.receiver.stop()
    this.queue.end(() => this.closeFd())
  }

  /**
   * Abrupt: stops receiving (`messages$` completes) and closes the fd now;
   * messages not yet sent reject with `ECANCELED`, later sends with `EPIPE`.
   * Idempotent; also cuts a graceful {@link close} short.
   */
  destroy(): void {
    this.isClosed = true
    this.receiver.stop()
    this.queue.fail()
    this.queue.end(() => this.closeFd())
  }

  /**
   * Gives the fd back to the kernel through the (open) proactor and calls
   * `done` once it is closed: a CLOSE here; a kind may shut the socket down
   * first. @internal
   */
  protected releaseFd(done: () => void): void {
    this.proactor.start({ kind: 'close', fd: this.fd }, { complete: done })
  }

  private closeFd(): void {
    if (this.fdClosed) return
    this.fdClosed = true
    if (this.proactor.closed) {
      sockets.closeSync(this.fd)
      this.resolveClosed()
      return
    }
    this.releaseFd(() => this.resolveClosed())
  }
}
