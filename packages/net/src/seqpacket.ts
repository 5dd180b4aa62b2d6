/**
 * Unix SOCK_SEQPACKET sockets — connection-oriented, reliable, ordered, and
 * message-preserving — as {@link Channel}s of Buffers. Node's core has no
 * SOCK_SEQPACKET at all.
 *
 * Two kernel facts shape this file:
 * - a zero-length record and EOF both make `recvmsg` return 0; with
 *   SO_PASSCRED every *record* carries an SCM_CREDENTIALS control message and
 *   EOF carries none, which tells them apart (so empty messages work);
 * - a writev of several buffers is *one* record, so sends go through a
 *   {@link MessageQueue} (one SENDMSG per message), never the byte-stream
 *   write queue.
 *
 * @packageDocumentation
 */
import { ClosableChannel } from './closable-channel.js'
import { Observable } from 'rxjs'
import { closedChannelError, EBADF, getProactor, IoError, MessageQueue, ownBytes, sockets, type Channel, type MessageTruncatedError, type Proactor, type SendmsgOp } from '@ringio/core/transport'
import { EMSGSIZE, ENOBUFS, SHUT_RDWR } from './constants.js'
import { decodeSockaddr, type SocketAddress } from './sockaddr.js'
import { MSG_NOSIGNAL, SendHeader } from './msghdr.js'
import { RecordReceiver } from './seqpacket-receiver.js'
import { checkFds, encodeRights, SCM_MAX_FD } from './scm-rights.js'

/** Options of a SOCK_SEQPACKET channel. */
export interface SeqpacketOptions {
  /**
   * The largest message received whole, in bytes. Default 65536. Records
   * are received into the shared message pool (`configureMessagePool`), not
   * a buffer per channel; a channel whose `maxMessage` exceeds the pool's
   * buffers holds one receive buffer of this size while `messages$` is
   * subscribed instead.
   * A longer message errors `messages$` with {@link MessageTruncatedError}
   * and closes the channel (the protocol is broken; never a silent cut).
   */
  maxMessage?: number
  /** Queued messages at or above which `writable` is false. Default 1024. */
  highWaterMark?: number
  /**
   * Descriptors one received message may carry (SCM_RIGHTS), 0..253.
   * Default 0: descriptors sent to this channel are closed by the kernel and
   * the message arrives without them. Read them with `receivedFds(msg)`. A
   * message with more errors `messages$` with `FdsTruncatedError` and closes
   * the channel.
   */
  maxFds?: number
}

/** Options of {@link SeqpacketChannel.send}. */
export interface SeqpacketSendOptions {
  /**
   * Descriptors to pass with the message (SCM_RIGHTS, 1..253): the peer
   * receives its own copies. Yours stay open: keep them open until the
   * Promise settles (the kernel duplicates them when the message is sent).
   */
  fds?: readonly number[]
}

/**
 * Checks the options every SOCK_SEQPACKET channel takes, at the call site
 * (`listen`/`connect` call it before any socket exists).
 * @returns `maxMessage` and `maxFds` with their defaults
 * @throws RangeError naming the bad option
 */
export function checkSeqpacketOptions(opts: SeqpacketOptions): { maxMessage: number; maxFds: number } {
  const maxMessage = opts.maxMessage ?? 65536
  if (!Number.isInteger(maxMessage) || maxMessage < 0 || maxMessage > 1 << 24) throw new RangeError(`maxMessage must be an integer 0..16777216, got ${String(maxMessage)}`)
  const maxFds = opts.maxFds ?? 0
  if (!Number.isInteger(maxFds) || maxFds < 0 || maxFds > SCM_MAX_FD) throw new RangeError(`maxFds must be an integer 0..${SCM_MAX_FD}, got ${String(maxFds)}`)
  return { maxMessage, maxFds }
}

/** A message waiting to be sent, with its SCM_RIGHTS control data if any. */
interface Outgoing {
  data: Uint8Array
  control: Buffer | null
}

// Errors that concern one message, not the connection (EBADF: a bad descriptor in its fds).
const PER_MESSAGE = new Set([EBADF, EMSGSIZE, ENOBUFS])

/**
 * A connected SOCK_SEQPACKET socket as a channel of whole messages.
 *
 * ## Example
 * ```ts
 * const ch = await seqpacket.connect({ path: '\0rpc' })
 * ch.messages$.subscribe((m) => console.log(m.toString()))
 * await ch.send('ping')                      // arrives as exactly one message
 * ```
 * # Cancel safety
 * Unsubscribing cancels the pending (multishot) RECVMSG; messages that raced
 * the cancel go first to the next subscriber. Nothing is read while nobody listens.
 */
export class SeqpacketChannel extends ClosableChannel<Outgoing> implements Channel<Buffer, Uint8Array | string> {
  /** The socket's fd (owned). */
  readonly fd: number
  /**
   * The received messages, one Buffer each (owned; empty messages included).
   * Completes when the peer closes or shuts down; errors with `IoError`
   * (`ECONNRESET`…) or {@link MessageTruncatedError}. One subscriber at a time.
   */
  readonly messages$: Observable<Buffer>
  /** @internal */
  protected readonly proactor: Proactor
  /** @internal */
  protected readonly queue: MessageQueue<Outgoing>
  private readonly sendHdr = new SendHeader()
  private readonly sendOp: SendmsgOp = { kind: 'sendmsg', fd: -1, msg: this.sendHdr.msg, flags: MSG_NOSIGNAL, keep: null }
  /** @internal */
  protected readonly receiver: RecordReceiver

  /** Wraps a connected SOCK_SEQPACKET fd that this channel then owns (SO_PASSCRED must be set on it). */
  constructor(fd: number, opts: SeqpacketOptions = {}) {
    super()
    const { maxMessage, maxFds } = checkSeqpacketOptions(opts)
    this.fd = fd
    this.sendOp.fd = fd
    this.proactor = getProactor()
    this.queue = new MessageQueue(this.proactor, {
      op: 'sendmsg',
      handle: fd,
      highWaterMark: opts.highWaterMark,
      fatal: (errno) => !PER_MESSAGE.has(errno),
      start: (m, c) => {
        // One send in flight at a time (the queue's window is 1): one op object serves them all.
        this.sendOp.keep = this.sendHdr.set(m.data, null, m.control)
        return this.proactor.start(this.sendOp, c)
      },
    })
    this.receiver = new RecordReceiver(this.proactor, fd, maxMessage, maxFds, (err) => this.onReadDone(err))
    this.messages$ = new Observable<Buffer>((sub) => {
      this.receiver.attach(sub)
      return () => this.receiver.detach(sub)
    })
  }

  /**
   * Sends one message (one record, whatever its size — empty included) after
   * every earlier one. Up to 4 KiB is copied at once; larger payloads must
   * stay untouched until the Promise settles.
   * With `fds`, the message carries those descriptors (SCM_RIGHTS).
   * @returns rejects with `IoError`: `EMSGSIZE` (bigger than the socket's send
   * buffer allows; only this message fails), `EBADF` (a descriptor in `fds` is
   * not open; only this message fails), `EPIPE`/`ECONNRESET` (peer gone:
   * every pending message fails), `EPIPE` after `close()`
   */
  send(msg: Uint8Array | string, opts?: SeqpacketSendOptions): Promise<void> {
    if (typeof msg !== 'string' && !(msg instanceof Uint8Array)) {
      return Promise.reject(new TypeError(`seqpacket send: message must be a Buffer, Uint8Array or string, got ${msg === null ? 'null' : typeof msg}`))
    }
    let control: Buffer | null = null
    try {
      if (opts?.fds !== undefined) control = encodeRights(checkFds(opts.fds))
    } catch (err) {
      return Promise.reject(err)
    }
    if (this.isClosed) return Promise.reject(closedChannelError('sendmsg', this.fd))
    return this.queue.enqueue({ data: typeof msg === 'string' ? Buffer.from(msg, 'utf8') : ownBytes(msg), control })
  }

  /** The local address (the listener's path on an accepted channel; usually unnamed for a connecting client). */
  get localAddress(): SocketAddress {
    return decodeSockaddr(sockets.sockName(this.fd))
  }

  /** The peer's address (usually unnamed for a connecting client). */
  get remoteAddress(): SocketAddress {
    return decodeSockaddr(sockets.peerName(this.fd))
  }

  /** SHUT_RDWR first: a peer blocked in recv sees EOF even if the fd were shared. @internal */
  protected override releaseFd(done: () => void): void {
    this.proactor.start({ kind: 'shutdown', fd: this.fd, how: SHUT_RDWR }, { complete: () => super.releaseFd(done) })
  }

  private onReadDone(err: Error | null): void {
    if (err === null) return // EOF: sends may go on until close()
    if (IoError.is(err)) this.queue.fail(err)
    this.close()
  }
}
