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
import { Observable, type Subscriber } from 'rxjs'
import { lstatSync, unlinkSync } from 'node:fs'
import {
  allocChunk,
  closedChannelError,
  ECANCELED,
  getProactor,
  IoError,
  MessageQueue,
  MessageTruncatedError,
  run,
  sockets,
  type Channel,
  type Completion,
  type OpId,
  type Proactor,
} from '@ringio/core'
import { AF_UNIX, decodeSockaddr, encodeUnix, type SocketAddress } from './sockaddr.js'
import { MSG_NOSIGNAL, MSG_TRUNC, RecvHeader, SendHeader } from './msghdr.js'

/** Options of a SOCK_SEQPACKET channel. */
export interface SeqpacketOptions {
  /**
   * The largest message received whole, in bytes: each channel holds one
   * receive buffer of this size while `messages$` is subscribed. Default 65536.
   * A longer message errors `messages$` with {@link MessageTruncatedError}
   * and closes the channel (the protocol is broken; never a silent cut).
   */
  maxMessage?: number
  /** Queued messages at or above which `writable` is false. Default 1024. */
  highWaterMark?: number
}

/** Options of {@link seqpacket.listen}. */
export interface SeqpacketListenOptions extends SeqpacketOptions {
  /**
   * The socket path; a leading `'\0'` names the abstract namespace (no file,
   * gone with the process). A *stale* socket file — one no process listens on
   * any more (connecting gives `ECONNREFUSED`) — is removed and the bind
   * retried; a live one gives `EADDRINUSE`. A file we created is removed when
   * the listener closes.
   */
  path: string
  /** Listen backlog. Default 511. */
  backlog?: number
  /** Aborting closes the listener and completes the Observable. */
  signal?: AbortSignal
  /** Called once listening. */
  onListening?: (address: SocketAddress) => void
}

/** Options of {@link seqpacket.connect}. */
export interface SeqpacketConnectOptions extends SeqpacketOptions {
  /** The server's socket path (leading `'\0'`: abstract namespace). */
  path: string
  /** Aborting cancels the connect; the Promise rejects with the signal's reason. */
  signal?: AbortSignal
}

const SOCK_SEQPACKET = 5
const SOL_SOCKET = 1
const SO_PASSCRED = 16
const SHUT_RDWR = 2
const EADDRINUSE = 98
const ECONNREFUSED = 111
// cmsghdr (16) + struct ucred (12), padded: CMSG_SPACE(12).
const CRED_SPACE = 32
// Errors that concern one message, not the connection.
const PER_MESSAGE = new Set([90 /* EMSGSIZE */, 105 /* ENOBUFS */])

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
 * Unsubscribing cancels the pending RECVMSG; a message that raced the cancel
 * goes first to the next subscriber. Nothing is read while nobody listens.
 */
export class SeqpacketChannel implements Channel<Buffer, Uint8Array | string> {
  /** The socket's fd (owned). */
  readonly fd: number
  /**
   * The received messages, one Buffer each (owned; empty messages included).
   * Completes when the peer closes or shuts down; errors with `IoError`
   * (`ECONNRESET`…) or {@link MessageTruncatedError}. One subscriber at a time.
   */
  readonly messages$: Observable<Buffer>
  /** Resolves once the fd is closed. */
  readonly closed: Promise<void>
  private readonly proactor: Proactor
  private readonly queue: MessageQueue<Uint8Array>
  private readonly sendHdr = new SendHeader()
  private readonly receiver: RecordReceiver
  private isClosed = false
  private fdClosed = false
  private resolveClosed!: () => void

  /** Wraps a connected SOCK_SEQPACKET fd that this channel then owns (SO_PASSCRED must be set on it). */
  constructor(fd: number, opts: SeqpacketOptions = {}) {
    const maxMessage = opts.maxMessage ?? 65536
    if (!Number.isInteger(maxMessage) || maxMessage < 0 || maxMessage > 1 << 24) throw new RangeError(`maxMessage must be an integer 0..16777216, got ${String(maxMessage)}`)
    this.fd = fd
    this.proactor = getProactor()
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve))
    this.queue = new MessageQueue(this.proactor, {
      op: 'sendmsg',
      handle: fd,
      highWaterMark: opts.highWaterMark,
      fatal: (errno) => !PER_MESSAGE.has(errno),
      start: (m, c) => this.proactor.sendmsg(fd, this.sendHdr.msg, MSG_NOSIGNAL, this.sendHdr.set(m, null), c),
    })
    this.receiver = new RecordReceiver(this.proactor, fd, maxMessage, (err) => this.onReadDone(err))
    this.messages$ = new Observable<Buffer>((sub) => {
      this.receiver.attach(sub)
      return () => this.receiver.detach(sub)
    })
  }

  /** Messages accepted by `send()` and not yet sent. */
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

  /**
   * Sends one message (one record, whatever its size — empty included) after
   * every earlier one. Up to 4 KiB is copied at once; larger payloads must
   * stay untouched until the Promise settles.
   * @returns rejects with `IoError`: `EMSGSIZE` (bigger than the socket's send
   * buffer allows; only this message fails), `EPIPE`/`ECONNRESET` (peer gone:
   * every pending message fails), `EPIPE` after `close()`
   */
  send(msg: Uint8Array | string): Promise<void> {
    if (typeof msg !== 'string' && !(msg instanceof Uint8Array)) {
      return Promise.reject(new TypeError(`seqpacket send: message must be a Buffer, Uint8Array or string, got ${msg === null ? 'null' : typeof msg}`))
    }
    if (this.isClosed) return Promise.reject(closedChannelError('sendmsg', this.fd))
    return this.queue.enqueue(typeof msg === 'string' ? Buffer.from(msg, 'utf8') : own(msg))
  }

  /**
   * Stops receiving (`messages$` completes), sends every message already
   * accepted, then closes the fd: the peer sees EOF after the last one.
   * Idempotent.
   */
  close(): void {
    if (this.isClosed) return
    this.isClosed = true
    this.receiver.stop()
    this.queue.end(() => this.closeFd())
  }

  /** Closes now: pending sends reject with `ECANCELED`. */
  destroy(): void {
    this.isClosed = true
    this.receiver.stop()
    this.queue.fail()
    this.queue.end(() => this.closeFd())
  }

  /** The peer's address (usually unnamed for a connecting client). */
  get remoteAddress(): SocketAddress {
    return decodeSockaddr(sockets.peerName(this.fd))
  }

  private closeFd(): void {
    if (this.fdClosed) return
    this.fdClosed = true
    if (this.proactor.closed) {
      sockets.closeSync(this.fd)
      this.resolveClosed()
      return
    }
    // SHUT_RDWR first: a peer blocked in recv sees EOF even if the fd were shared.
    this.proactor.shutdown(this.fd, SHUT_RDWR, { complete: () => this.proactor.close(this.fd, { complete: () => this.resolveClosed() }) })
  }

  private onReadDone(err: Error | null): void {
    if (err === null) return // EOF: sends may go on until close()
    if (IoError.is(err)) this.queue.fail(err)
    this.close()
  }
}

/** The receive side: one RECVMSG in flight while someone listens. */
class RecordReceiver implements Completion {
  private sub: Subscriber<Buffer> | null = null
  private hdr: RecvHeader | null = null
  private armed = false
  private opId: OpId = -1
  private done: Error | 'eof' | null = null
  private stopped = false
  private readonly backlog: Buffer[] = []

  constructor(
    private readonly proactor: Proactor,
    private readonly fd: number,
    private readonly capacity: number,
    private readonly onDone: (err: Error | null) => void,
  ) {}

  attach(sub: Subscriber<Buffer>): void {
    if (this.sub !== null) throw new Error('ringio: this channel already has a subscriber (subscribe to messages$ once)')
    this.sub = sub
    while (this.backlog.length > 0 && this.sub === sub) sub.next(this.backlog.shift()!)
    if (this.sub !== sub) return
    if (this.done !== null || this.stopped) this.finish(sub)
    else this.arm()
  }

  detach(sub: Subscriber<Buffer>): void {
    if (this.sub !== sub) return
    this.sub = null
    if (this.armed) this.proactor.cancel(this.opId)
  }

  stop(): void {
    this.stopped = true
    const sub = this.sub
    if (sub !== null) {
      this.detach(sub)
      this.finish(sub)
    }
    if (!this.armed) this.hdr = null
  }

  complete(res: number): void {
    this.armed = false
    const hdr = this.hdr!
    if (res === -ECANCELED) {
      if (this.stopped) this.hdr = null
      else this.arm()
      return
    }
    if (res < 0) return this.end(new IoError(-res, 'recvmsg', this.fd))
    if (res === 0 && hdr.controlLength === 0) return this.end('eof') // no credentials: not a record but EOF
    if ((hdr.flags & MSG_TRUNC) !== 0) return this.end(new MessageTruncatedError(res, this.capacity))
    const msg = allocChunk(res)
    hdr.data.copy(msg, 0, 0, res)
    if (this.sub !== null) this.sub.next(msg)
    else this.backlog.push(msg)
    if (this.stopped) this.hdr = null
    else this.arm()
  }

  private end(reason: Error | 'eof'): void {
    this.done = reason
    this.hdr = null
    if (this.sub !== null) this.finish(this.sub)
    this.onDone(reason === 'eof' ? null : reason)
  }

  private finish(sub: Subscriber<Buffer>): void {
    this.sub = null
    if (this.done === null || this.done === 'eof') sub.complete()
    else sub.error(this.done)
  }

  private arm(): void {
    if (this.armed || this.sub === null || this.done !== null || this.stopped || this.proactor.closed) return
    this.hdr ??= new RecvHeader(this.capacity, CRED_SPACE)
    this.hdr.reset()
    this.armed = true
    // MSG_TRUNC in the call: the result is the record's real length (unix(7)).
    this.opId = this.proactor.recvmsg(this.fd, this.hdr.msg, MSG_TRUNC, this.hdr.keep, this)
  }
}

function socketFd(): number {
  const fd = getProactor().socket(AF_UNIX, SOCK_SEQPACKET, 0)
  try {
    sockets.setIntOption(fd, SOL_SOCKET, SO_PASSCRED, 1) // accepted sockets inherit it
  } catch (err) {
    sockets.closeSync(fd)
    throw err
  }
  return fd
}

/**
 * Connects to a SOCK_SEQPACKET server at `path`.
 *
 * ## Example
 * ```ts
 * const ch = await seqpacket.connect({ path: '/run/app.sock' })
 * ```
 * @returns rejects with `IoError` (`ENOENT`, `ECONNREFUSED`, `EPROTOTYPE` for a non-seqpacket server…) or the abort reason
 */
async function connect(opts: SeqpacketConnectOptions): Promise<SeqpacketChannel> {
  if (typeof opts !== 'object' || opts === null || typeof opts.path !== 'string') throw new TypeError('seqpacket.connect: { path } required')
  const addr = encodeUnix(opts.path)
  const fd = socketFd()
  try {
    await run('connect', opts.path, { signal: opts.signal }, (p, c) => p.connect(fd, addr, c))
    return new SeqpacketChannel(fd, opts)
  } catch (err) {
    sockets.closeSync(fd)
    throw err
  }
}

/**
 * Listens on a SOCK_SEQPACKET socket at `path`; emits one channel per
 * accepted connection (multishot ACCEPT).
 *
 * ## Example
 * ```ts
 * seqpacket.listen({ path: '\0rpc' }).subscribe((ch) =>
 *   ch.messages$.subscribe({ next: (m) => ch.send(m), complete: () => ch.close() }))
 * ```
 * Errors: `IoError` `EADDRINUSE` (a live server has the path), `EACCES`, `ENOENT` (missing directory).
 *
 * # Cancel safety
 * Unsubscribing (or aborting `signal`) cancels the accept, closes the
 * listener and removes the socket file it created; channels already emitted stay open.
 */
function listen(opts: SeqpacketListenOptions): Observable<SeqpacketChannel> {
  if (typeof opts !== 'object' || opts === null || typeof opts.path !== 'string') throw new TypeError('seqpacket.listen: { path } required')
  const addr = encodeUnix(opts.path)
  const backlog = opts.backlog ?? 511
  const fsPath = opts.path.startsWith('\0') ? null : opts.path
  return new Observable<SeqpacketChannel>((subscriber) => {
    if (opts.signal?.aborted === true) return subscriber.complete()
    const p = getProactor()
    let fd = -1
    let accepting = -1
    let open = true
    let bound = false
    const shut = (): void => {
      if (!open) return
      open = false
      opts.signal?.removeEventListener('abort', onAbort)
      if (accepting !== -1) p.cancel(accepting)
      if (fd !== -1) {
        if (p.closed) sockets.closeSync(fd)
        else p.close(fd, { complete: () => {} })
      }
      if (bound && fsPath !== null) tryUnlink(fsPath)
    }
    const onAbort = (): void => {
      shut()
      subscriber.complete()
    }
    const fail = (err: unknown): void => {
      shut()
      subscriber.error(err)
    }
    const c: Completion = {
      complete(res, flags) {
        if (res >= 0) {
          if (!open) return sockets.closeSync(res)
          subscriber.next(new SeqpacketChannel(res, opts))
          if ((flags & 2) === 0 && open) accepting = p.accept(fd, true, c) // the kernel ended the multishot: re-arm
          return
        }
        accepting = -1
        if (!open || res === -ECANCELED) return
        if (res === -103 || res === -4) return void (accepting = p.accept(fd, true, c)) // ECONNABORTED, EINTR: one connection
        fail(new IoError(-res, 'accept', fd))
      },
    }
    const start = (): void => {
      if (!open) return
      try {
        if (fd === -1) fd = socketFd()
        sockets.bind(fd, addr)
        bound = true
        sockets.listen(fd, backlog)
      } catch (err) {
        if (IoError.is(err) && err.errno === EADDRINUSE && fsPath !== null && !bound && !probing) {
          probing = true
          void removeIfStale(fsPath).then((removed) => (removed ? start() : fail(err)), fail)
          return
        }
        return fail(err)
      }
      accepting = p.accept(fd, true, c)
      try {
        opts.onListening?.(decodeSockaddr(sockets.sockName(fd)))
      } catch (err) {
        fail(err)
      }
    }
    let probing = false
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    start()
    return shut
  })
}

/** Removes `path` if it is a socket nobody listens on (connect says ECONNREFUSED). */
async function removeIfStale(path: string): Promise<boolean> {
  try {
    if (!lstatSync(path).isSocket()) return false
  } catch {
    return false
  }
  const fd = getProactor().socket(AF_UNIX, SOCK_SEQPACKET, 0)
  try {
    await run('connect', path, undefined, (p, c) => p.connect(fd, encodeUnix(path), c))
    return false // somebody answers: the address really is in use
  } catch (err) {
    if (!(IoError.is(err) && err.errno === ECONNREFUSED)) return false
    tryUnlink(path)
    return true
  } finally {
    sockets.closeSync(fd)
  }
}

function tryUnlink(path: string): void {
  try {
    unlinkSync(path)
  } catch {
    // already gone: nothing to clean up
  }
}

function own(b: Uint8Array): Uint8Array {
  if (b.length > 4096) return b
  const copy = allocChunk(b.length)
  copy.set(b)
  return copy
}

/**
 * Unix SOCK_SEQPACKET: `listen` and `connect`, giving {@link SeqpacketChannel}s.
 *
 * ## Example
 * ```ts
 * import { seqpacket } from '@ringio/net'
 * seqpacket.listen({ path: '\0svc' }).subscribe((ch) => ch.messages$.subscribe((m) => ch.send(m)))
 * const ch = await seqpacket.connect({ path: '\0svc' })
 * ```
 */
export const seqpacket = { listen, connect } as const
