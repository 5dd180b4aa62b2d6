/**
 * Bulk writes into a pipe through a private file description of that pipe,
 * resumed by libuv's own write loop: a whole writev per JS turn instead of a
 * pipe-full per JS turn, with the shared description left exactly as it was.
 *
 * Why not the ring: io_uring completes a WRITE to a pipe one pipe-full at a
 * time. A blocking pipe is tried non-blocking, poll-armed when full, and the
 * retry after the reader made room writes what fits and *completes short*
 * (a pipe is not a regular file, so the kernel does not resume it by itself).
 * `IOSQE_ASYNC` changes nothing here: the kernel's worker also tries a
 * pollable file non-blocking and poll-arms it (measured on Linux 6.18: every
 * completion was exactly 64 KiB, with or without it). Each pipe-full (64 KiB
 * by default) therefore costs a wakeup of the JS thread — eventfd, enter,
 * completion, next submission: 0.8–0.9x `process.stdout.write`, and about
 * 1.35x its CPU time. The poll backend's blocking threadpool write moves a
 * whole MiB per call but cannot be interrupted, and `process.exit()` waits for
 * it (libuv joins its threads at exit): forever, if the reader stalls.
 *
 * Node's `process.stdout` does better because libuv resumes a partial write in
 * C on each epoll wakeup, without JS — but it gets there by making the
 * *shared* description O_NONBLOCK. This module does the same on a *private*
 * description of the same pipe, opened from `/proc/self/fd/N` (DESIGN.md
 * principle 3's fallback): O_NONBLOCK on it changes nothing the parent shell
 * or a sibling shares. Bytes go into the same pipe, in order; JS runs once
 * per writev (up to 1 MiB). Measured: ~1.0x `process.stdout.write`'s
 * throughput (the reader's pace bounds both) at ~0.8x its CPU time.
 *
 * Only writes of at least `threshold` bytes take this path (they would fill a
 * default pipe at least twice); smaller ones go to the proactor as before. The
 * private description is closed as soon as no bulk write is pending: an idle
 * writer holds no extra reference to the pipe, so a program that closes fd 1
 * to signal EOF to its reader still can.
 *
 * # Cancel safety
 * `cancel` destroys the private stream: the write completes with
 * `-ECANCELED`, and part of its bytes may already be in the pipe (as with any
 * interrupted write). `process.exit()` does not wait for a pending bulk write
 * (like the ring's pending writes, its bytes are lost), so it never hangs.
 *
 * @packageDocumentation
 * @internal
 */
import { closeSync, constants, fstatSync, openSync } from 'node:fs'
import { Socket } from 'node:net'
import type { Completion, OpId, Proactor, StartOptions } from '@ringio/core'
import { proactorView } from './proactor-view.js'

const ECANCELED = 125
const EIO = 5

/** Writes of at least this many bytes take the private stream: twice a default pipe's capacity (64 KiB). */
export const DEFAULT_BULK_THRESHOLD = 128 * 1024

/** A proactor view with bulk writes to one pipe, and the handle to release its private description. */
export interface BulkPipe {
  /** `p`, with large writes to the pipe going through the private stream. */
  readonly proactor: Proactor
  /** Closes the private description now (after the writer's last write settled). Idempotent. */
  close(): void
}

/**
 * Wraps `p` so that `write`/`writev` of at least `threshold` bytes to `fd` (a
 * pipe, at its position) go through a libuv stream on a private, non-blocking
 * description of the same pipe. Where that description cannot be opened (no
 * `/proc`, `EACCES`, a FIFO whose reader left: `ENXIO`), the write goes to
 * `p` instead, which reports the real error.
 *
 * @param p the proactor
 * @param fd the pipe
 * @param threshold the smallest write that takes the private stream
 */
export function withBulkPipe(p: Proactor, fd: number, threshold = DEFAULT_BULK_THRESHOLD): BulkPipe {
  /** Our pending bulk writes: id -> target. Usually one (the write queue keeps one write in flight). */
  const live = new Map<OpId, Completion>()
  let next = 2 ** 44 // above the proactor's own ids and withEagainRetry's
  let stream: Socket | null = null
  let idleQueued = false

  const drop = (s: Socket): void => {
    if (stream === s) stream = null
    s.destroy() // closes the private description (uv_close), never the shared fd
  }

  const closeIfIdle = (): void => {
    idleQueued = false
    if (live.size === 0 && stream !== null) drop(stream)
  }

  /** The private stream, opened on demand; null when it cannot be (the caller writes through `p`). */
  const open = (): Socket | null => {
    if (stream !== null && !stream.destroyed) return stream
    let pfd: number
    try {
      // O_NONBLOCK on *our* description only; the open itself never blocks (a
      // FIFO without reader: ENXIO). libuv adds O_CLOEXEC to every open.
      pfd = openSync(`/proc/self/fd/${fd}`, constants.O_WRONLY | constants.O_NONBLOCK)
    } catch {
      return null
    }
    try {
      const a = fstatSync(fd)
      const b = fstatSync(pfd)
      if (a.ino !== b.ino || a.dev !== b.dev || !b.isFIFO()) throw new Error('not the same pipe')
      const s = new Socket({ fd: pfd, readable: false, writable: true })
      // Idle, the stream must not keep the process alive; a pending write does (libuv counts active requests).
      s.unref()
      s.on('error', noop) // reported through the write's callback
      stream = s
      return s
    } catch {
      closeSync(pfd)
      return null
    }
  }

  /** Starts a bulk write; null when the private stream is unavailable. */
  const bulk = (bufs: readonly Uint8Array[], c: Completion): OpId | null => {
    const s = open()
    if (s === null) return null
    const id = next++
    let total = 0
    for (const b of bufs) total += b.length
    live.set(id, c)
    const done = (err?: Error | null): void => {
      if (live.get(id) !== c) return // cancelled: already completed
      live.delete(id)
      if (err != null) {
        drop(s)
        c.complete(errnoResult(err), 0)
      } else {
        c.complete(total, 0)
      }
      // The completion may have started the next bulk write on the same stream; close only when none did.
      if (live.size === 0 && !idleQueued && stream !== null) {
        idleQueued = true
        setImmediate(closeIfIdle).unref()
      }
    }
    // cork/uncork: one writev for all the buffers. Writable defers the callback
    // of a write that finished synchronously, so `c` never completes inside this call.
    s.cork()
    for (let i = 0; i < bufs.length; i++) s.write(bufs[i]!, i === bufs.length - 1 ? done : undefined)
    s.uncork()
    return id
  }

  const proactor = proactorView(p, {
    write: (wfd: number, buf: Uint8Array, off: number, c: Completion, opts?: StartOptions): OpId =>
      (wfd === fd && off === -1 && buf.length >= threshold ? bulk([buf], c) : null) ?? p.write(wfd, buf, off, c, opts),
    writev: (wfd: number, bufs: readonly Uint8Array[], off: number, c: Completion, opts?: StartOptions): OpId =>
      (wfd === fd && off === -1 && byteLength(bufs) >= threshold ? bulk(bufs, c) : null) ?? p.writev(wfd, bufs, off, c, opts),
    cancel: (id: OpId): void => {
      const c = live.get(id)
      if (c === undefined) return p.cancel(id)
      live.delete(id)
      if (stream !== null) drop(stream)
      queueMicrotask(() => c.complete(-ECANCELED, 0))
    },
  })

  return {
    proactor,
    close() {
      if (stream !== null) drop(stream)
    },
  }
}

function byteLength(bufs: readonly Uint8Array[]): number {
  let n = 0
  for (const b of bufs) n += b.length
  return n
}

/** `-errno` of a Node system error (its `errno` is libuv's, which is `-errno` on Linux); `-EIO` otherwise. */
function errnoResult(err: Error): number {
  const no = (err as NodeJS.ErrnoException).errno
  return typeof no === 'number' && no < 0 ? no : -EIO
}

function noop(): void {}
