/**
 * Opening SOCK_SEQPACKET sockets, the {@link seqpacket} namespace: `listen`
 * (multishot ACCEPT; a stale socket file is removed) and `connect`, each
 * giving {@link SeqpacketChannel}s.
 *
 * @packageDocumentation
 */
import { Observable, type Subscription } from 'rxjs'
import { lstatSync, unlinkSync } from 'node:fs'
import { getProactor, IoError, run, sockets } from '@ringio/core/transport'
import { acceptStream } from './accept-stream.js'
import { EADDRINUSE, ECONNREFUSED, SO_PASSCRED, SOCK_SEQPACKET, SOL_SOCKET } from './constants.js'
import { AF_UNIX, decodeSockaddr, encodeUnix, type SocketAddress } from './sockaddr.js'
import { checkSeqpacketOptions, SeqpacketChannel, type SeqpacketOptions } from './seqpacket.js'

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
  /**
   * Called for each accept error the listener survives (it keeps
   * listening), as for `listen()`'s `onAcceptError`: `EMFILE`, `ENFILE`,
   * `ENOBUFS`, `ENOMEM` pause accepting and retry it after 10 ms, doubling
   * up to 1 s (the waiting clients stay in the backlog); `ECONNABORTED`,
   * `ECONNRESET`, `EPROTO`, `EPERM`, `ETIMEDOUT`, `EINTR` and the network
   * errors of accept(2) lose that one connection. Without it these are
   * silent. If it throws, the listener closes and the Observable errors with
   * what it threw.
   */
  onAcceptError?: (err: IoError) => void
}

/** Options of {@link seqpacket.connect}. */
export interface SeqpacketConnectOptions extends SeqpacketOptions {
  /** The server's socket path (leading `'\0'`: abstract namespace). */
  path: string
  /** Aborting cancels the connect; the Promise rejects with the signal's reason. */
  signal?: AbortSignal
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

/** `seqpacket.connect`: its TSDoc is on the `seqpacket` object, the public name. */
async function connect(opts: SeqpacketConnectOptions): Promise<SeqpacketChannel> {
  if (typeof opts !== 'object' || opts === null || typeof opts.path !== 'string') throw new TypeError('seqpacket.connect: { path } required')
  checkSeqpacketOptions(opts)
  const addr = encodeUnix(opts.path)
  const fd = socketFd()
  try {
    await run({ kind: 'connect', fd, addr }, { signal: opts.signal }, { handle: opts.path })
    return new SeqpacketChannel(fd, opts)
  } catch (err) {
    sockets.closeSync(fd)
    throw err
  }
}

/** `seqpacket.listen`: its TSDoc is on the `seqpacket` object, the public name. */
function listen(opts: SeqpacketListenOptions): Observable<SeqpacketChannel> {
  if (typeof opts !== 'object' || opts === null || typeof opts.path !== 'string') throw new TypeError('seqpacket.listen: { path } required')
  checkSeqpacketOptions(opts)
  const addr = encodeUnix(opts.path)
  const backlog = opts.backlog ?? 511
  const fsPath = opts.path.startsWith('\0') ? null : opts.path
  return new Observable<SeqpacketChannel>((subscriber) => {
    if (opts.signal?.aborted === true) return subscriber.complete()
    const p = getProactor()
    let fd = -1
    let accepts: Subscription | undefined
    let open = true
    let bound = false
    const shut = (): void => {
      if (!open) return
      open = false
      opts.signal?.removeEventListener('abort', onAbort)
      accepts?.unsubscribe()
      if (fd !== -1) {
        if (p.closed) sockets.closeSync(fd)
        else p.start({ kind: 'close', fd }, { complete: () => {} })
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
    const take = (conn: number): void => {
      if (!open) return sockets.closeSync(conn)
      subscriber.next(new SeqpacketChannel(conn, opts))
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
      accepts = acceptStream(fd, opts.onAcceptError).subscribe({ next: take, error: fail })
      if (!open) return
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
    await run({ kind: 'connect', fd, addr: encodeUnix(path) }, undefined, { handle: path })
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
export const seqpacket = {
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
  listen,
  /**
   * Connects to a SOCK_SEQPACKET server at `path`.
   *
   * ## Example
   * ```ts
   * const ch = await seqpacket.connect({ path: '/run/app.sock' })
   * ```
   * @returns rejects with `IoError` (`ENOENT`, `ECONNREFUSED`, `EPROTOTYPE` for a non-seqpacket server…) or the abort reason
   */
  connect,
} as const
