/**
 * How one fd is read without changing anything another process shares: the
 * *shared* path (fds 0-2 and `{ shared: true }`) and the *owned* path
 * (`{ shared: false }`) are chosen here, side by side.
 *
 * Shared (never a flag change on the shared description):
 * - pipe (both backends): a *private* file description, opened non-blocking
 *   from `/proc/self/fd/N`, read synchronously; when it is empty, the read
 *   waits for POLLIN through the proactor (cancellable, not keeping the
 *   process alive). A ring READ per chunk cost a submission and a completion
 *   each: `cat.ts` copied at ~0.7x Node's `stdin.pipe(stdout)`.
 * - io_uring, terminal: READ on the fd as it is. A blocking terminal is served
 *   by the kernel's async workers (or its internal poll), and the read can be
 *   cancelled.
 * - poll backend, terminal: a blocking read would pin a threadpool
 *   thread and keep the process alive until input arrives, so we read a
 *   *private* file description instead, opened non-blocking from
 *   `/proc/self/fd/N` (or `/dev/tty` when it is the same terminal). Same pipe
 *   or terminal, same bytes, but its O_NONBLOCK is ours alone. If neither can
 *   be opened we fall back to the blocking read (see `stdin` for the cost).
 * - sockets: recv (MSG_DONTWAIT on the poll backend: per call, no F_SETFL).
 * - files and other devices: a plain read (it never waits for long).
 *
 * Owned: on the poll backend a pollable fd is switched to O_NONBLOCK (it is
 * ours to change) so reads are cancellable; io_uring needs nothing.
 *
 * @packageDocumentation
 * @internal
 */
import { closeSync, constants, fstatSync } from 'node:fs'
import { backend, close, EAGAIN, EINTR, IoError, libc, PollEvents, read, run, type OperationOptions } from '@ringio/core/transport'
import { fdKind, type FdKind } from './fd-kind.js'
import { errno } from './libc.js'
import { reopenPrivate } from './private-description.js'


/** An fd ready to be read, and how. */
export interface ReadPath {
  /** The fd the caller named. */
  readonly sourceFd: number
  /** The fd actually read: `sourceFd`, or a private description of the same pipe or terminal. */
  readonly fd: number
  /** What `sourceFd` is. */
  readonly kind: FdKind
  /** True when {@link fd} is a private description opened for this path. */
  readonly private: boolean
  /** What `sourceFd` refers to (device and inode): tells a reused fd number from the same object. */
  readonly identity: string
  /** One read of at most `buf.length` bytes; rejects with `IoError` or the abort reason. */
  read(buf: Uint8Array, signal: AbortSignal): Promise<number>
  /** Closes the private description, if any (after the last read settled). */
  release(): void
}

/**
 * Chooses the path for `fd`.
 * @throws IoError `EBADF` when `fd` is not open
 */
export function openReadPath(fd: number, shared: boolean): ReadPath {
  const kind = fdKind(fd)
  return { ...(shared ? sharedPath(fd, kind) : ownedPath(fd, kind)), identity: identityOf(fd) }
}

/** The device and inode `fd` refers to, or '' when it is not open. */
export function identityOf(fd: number): string {
  try {
    const st = fstatSync(fd)
    return `${st.dev}:${st.ino}:${st.rdev}`
  } catch {
    return ''
  }
}

// ---- shared: never touch the description's flags ----

function sharedPath(fd: number, kind: FdKind): Omit<ReadPath, 'identity'> {
  if (kind === 'socket') return direct(fd, kind, recvOnce)
  if (kind === 'pipe' || (backend() === 'poll' && kind === 'tty')) {
    const priv = reopenPrivate(fd, constants.O_RDONLY, kind === 'tty' ? ['/dev/tty'] : [])
    if (priv >= 0) return privatePath(fd, priv, kind, kind === 'pipe' ? readNowOrWait : readOnce)
  }
  return direct(fd, kind, readOnce)
}

function privatePath(sourceFd: number, fd: number, kind: FdKind, fn: ReadFn): Omit<ReadPath, 'identity'> {
  let open = true
  return {
    sourceFd,
    fd,
    kind,
    private: true,
    read: (buf, signal) => fn(fd, buf, signal),
    release() {
      if (!open) return
      open = false
      // io_uring holds its own reference to a file an operation uses: close now.
      // (A ring CLOSE could still be pending when the process exits, and its
      // completion would wake the loop while Node tears it down.)
      if (backend() === 'uring') return closeSync(fd)
      // Through the proactor: the poll backend drops its watcher on fd before closing it.
      close(fd).catch(() => {
        try {
          closeSync(fd)
        } catch {
          // already closed (the proactor shut down at exit)
        }
      })
    },
  }
}

// ---- owned: ours to change ----

function ownedPath(fd: number, kind: FdKind): Omit<ReadPath, 'identity'> {
  if (kind === 'socket') return direct(fd, kind, recvOnce)
  // io_uring needs no O_NONBLOCK (and older kernels answer EAGAIN for it instead of polling).
  if (backend() === 'poll' && (kind === 'pipe' || kind === 'tty' || kind === 'char')) {
    const r = libc.setOwnedNonBlocking(fd)
    if (r < 0) throw new IoError(-r, 'fcntl(F_SETFL)', fd)
  }
  return direct(fd, kind, readOnce)
}

// ---- reads ----

type ReadFn = (fd: number, buf: Uint8Array, signal: AbortSignal) => Promise<number>

function direct(fd: number, kind: FdKind, fn: ReadFn): Omit<ReadPath, 'identity'> {
  return { sourceFd: fd, fd, kind, private: false, read: (buf, signal) => fn(fd, buf, signal), release() {} }
}

// Reads never keep the process alive by themselves: the subscription does (fd-reader.ts).
const opts = (signal: AbortSignal): OperationOptions => ({ signal, ref: false })

async function readOnce(fd: number, buf: Uint8Array, signal: AbortSignal): Promise<number> {
  for (;;) {
    try {
      return await read(fd, buf, -1, opts(signal))
    } catch (err) {
      // Someone else made the shared description non-blocking and the backend
      // handed back EAGAIN: wait for input, then read again.
      if (!IoError.is(err) || err.errno !== EAGAIN) throw err
      await readable(fd, signal)
    }
  }
}

/** A synchronous read of our non-blocking description; when it is empty, a wait for POLLIN, then again. */
async function readNowOrWait(fd: number, buf: Uint8Array, signal: AbortSignal): Promise<number> {
  for (;;) {
    signal.throwIfAborted()
    const n = libc.read(fd, buf, buf.length)
    if (n >= 0) return n
    const e = errno()
    if (e === EINTR) continue
    if (e !== EAGAIN) throw new IoError(e, 'read', fd)
    await readable(fd, signal)
  }
}

async function recvOnce(fd: number, buf: Uint8Array, signal: AbortSignal): Promise<number> {
  for (;;) {
    try {
      return await run({ kind: 'recv', fd, buf, flags: 0 }, opts(signal))
    } catch (err) {
      if (!IoError.is(err) || err.errno !== EAGAIN) throw err
      await readable(fd, signal)
    }
  }
}

function readable(fd: number, signal: AbortSignal): Promise<number> {
  return run({ kind: 'poll', fd, events: PollEvents.IN, multishot: false }, opts(signal))
}
