/**
 * Bulk writes into a pipe through a private, non-blocking description of
 * that pipe, tried synchronously with a short spin when the pipe is full —
 * the shared description is left exactly as it was. Where transparent huge
 * pages are available the bytes are handed over with `vmsplice` from a
 * staging region (`splice-stage.ts`: one copy, made outside the pipe's lock;
 * ~1.5x `process.stdout.write` into `cat > /dev/null`), elsewhere with
 * `writev`.
 *
 * Why not the ring: io_uring completes a WRITE to a pipe one pipe-full (64
 * KiB) at a time — tried non-blocking, poll-armed when full, completed short
 * — and `IOSQE_ASYNC` changes nothing (the kernel's worker also poll-arms a
 * pollable file; measured on 6.18). Each pipe-full then costs a wakeup of the
 * JS thread. Why not wait for POLLOUT either (libuv's way): the reader's
 * wakeup of an epoll waiter comes late, ~20 µs after a drain that took ~10 µs,
 * so a writer that waits after every pipe-full reached ~0.6x
 * `process.stdout.write` into `cat > /dev/null`. A writer that retries at
 * once, yielding the CPU between tries (`sched_yield`), finds the pipe drained
 * within a few tries. Only after `SPIN_TRIES` empty tries does a write wait:
 * on the next loop turns, then for POLLOUT through the proactor — a reader
 * that stalls costs a bounded spin, then nothing.
 *
 * Once the private description is open, every write to the pipe takes it
 * (not only bulk ones): the writes between two bulk ones stay in order behind
 * the staged bytes and do not fall back to the ring. (Completing a write
 * short each time the pipe filled, so the producer could refill sooner, was
 * tried: 0.9x into `cat`, 0.75x behind a slow reader.)
 *
 * The private description is opened from `/proc/self/fd/N` (DESIGN.md
 * principle 3's fallback): O_NONBLOCK on it changes nothing the parent shell
 * or a sibling shares. It is closed as soon as no bulk write is pending, so a
 * program that closes fd 1 to signal EOF to its reader still can.
 *
 * # Cancel safety
 * `cancel` of a write waiting for room completes it with `-ECANCELED`; part
 * of its bytes may already be in the pipe (as with any interrupted write).
 * `process.exit()` does not wait for a pending bulk write (its bytes are
 * lost, like the ring's pending writes), so it never hangs.
 *
 * @packageDocumentation
 * @internal
 */
import { closeSync, constants } from 'node:fs'
import { addressOf, EAGAIN, ECANCELED, EINTR, EINVAL, ENOSYS, EPERM, libc, PollEvents, type Completion, type OpId, type Proactor, type StartOptions } from '@ringio/core'
import { errno, schedYield } from './libc.js'
import { proactorView } from './proactor-view.js'
import { reopenPrivate } from './private-description.js'
import { SpliceStage } from './splice-stage.js'

const TWO32 = 2 ** 32
const PAGE = 4096
const resolved = Promise.resolve()
/** Empty tries (each after a `sched_yield`) before a write waits. */
const SPIN_TRIES = 64
/** Loop turns a write retries on before it waits for POLLOUT. */
const RETRY_TURNS = 2
/** iovecs per writev: the write queue coalesces at most 64 buffers. */
const MAX_IOV = 64

/** Writes of at least this many bytes take the private description: twice a default pipe's capacity (64 KiB). */
export const DEFAULT_BULK_THRESHOLD = 128 * 1024

/** Options of {@link withBulkPipe}. */
export interface BulkPipeOptions {
  /** The smallest write that takes the private description. Default {@link DEFAULT_BULK_THRESHOLD}. */
  threshold?: number
  /** Hand bytes over with `vmsplice` from a huge-page stage where THP allows (`splice-stage.ts`). Default true; false always copies with `writev`. */
  splice?: boolean
}

/** A proactor view with bulk writes to one pipe, and the handle to release its private description. */
export interface BulkPipe {
  /** `p`, with large writes to the pipe going through the private description. */
  readonly proactor: Proactor
  /** Closes the private description now (after the writer's last write settled). Idempotent. */
  close(): void
}

/** One bulk write in flight, and where it has got to. */
interface Pending {
  readonly id: OpId
  readonly c: Completion
  readonly bufs: readonly Uint8Array[]
  /** Buffer index and offset of the next byte to write. */
  at: number
  off: number
  written: number
  total: number
  turns: number
  immediate: NodeJS.Immediate | null
  poll: OpId
}

/**
 * Wraps `p` so that `write`/`writev` of at least `threshold` bytes to `fd` (a
 * pipe, at its position) go through a private, non-blocking description of
 * the same pipe. Where it cannot be opened (no `/proc`, `EACCES`, a FIFO whose
 * reader left: `ENXIO`), the write goes to `p`, which reports the real error.
 *
 * @param p the proactor
 * @param fd the pipe
 * @param opts threshold, and whether to splice
 */
export function withBulkPipe(p: Proactor, fd: number, opts: BulkPipeOptions = {}): BulkPipe {
  const threshold = opts.threshold ?? DEFAULT_BULK_THRESHOLD
  const live = new Map<OpId, Pending>()
  let next = 2 ** 44 // above the proactor's own ids and withEagainRetry's
  let pfd = -1
  let idleQueued = false
  const iov = new Uint8Array(MAX_IOV * 16)
  const iov32 = new Uint32Array(iov.buffer)
  /** Most bytes one writev can move: the pipe's capacity (what a reader drains at once). */
  let capacity = 65536
  /** Zero-copy staging; null where huge pages are unavailable (then writev); undefined until the first bulk write. */
  let stage: SpliceStage | null | undefined

  const closeIfIdle = (): void => {
    idleQueued = false
    if (live.size === 0 && pfd >= 0) {
      closeSync(pfd)
      pfd = -1
      stage?.idle()
    }
  }

  const open = (): boolean => {
    if (pfd < 0) {
      pfd = reopenPrivate(fd, constants.O_WRONLY)
      if (pfd >= 0) capacity = Math.max(libc.pipeCapacity(pfd), 4096)
      if (pfd >= 0 && stage === undefined) stage = opts.splice === false ? null : SpliceStage.create(capacity)
    }
    return pfd >= 0
  }

  const finish = (w: Pending, res: number): void => {
    if (!live.delete(w.id)) return
    // Staged bytes belong to this write's stream position; if it ends short,
    // whatever comes next re-stages from its own buffers.
    if (res !== w.total) stage?.discard()
    w.c.complete(res, 0)
    if (live.size === 0 && !idleQueued) {
      idleQueued = true
      setImmediate(closeIfIdle).unref()
    }
  }

  /**
   * Fills the iovec array from the write's cursor, with at most a pipe-full
   * of bytes (more cannot go in one try); returns the entry count.
   */
  const fill = (w: Pending): number => {
    let n = 0
    let bytes = 0
    for (let i = w.at; i < w.bufs.length && n < MAX_IOV && bytes < capacity; i++) {
      const b = w.bufs[i]!
      const skip = i === w.at ? w.off : 0
      const len = b.length - skip
      if (len === 0) continue
      const a = addressOf(b) + skip
      iov32[n * 4] = a % TWO32
      iov32[n * 4 + 1] = Math.floor(a / TWO32)
      iov32[n * 4 + 2] = len
      iov32[n * 4 + 3] = 0
      bytes += len
      n++
    }
    return n
  }

  const advance = (w: Pending, r: number): void => {
    w.written += r
    let left = r
    while (left > 0) {
      const room = w.bufs[w.at]!.length - w.off
      if (left < room) {
        w.off += left
        return
      }
      left -= room
      w.at++
      w.off = 0
    }
  }

  /** One non-blocking try at `w`'s next bytes: bytes taken (> 0) or `-errno` (a try that took nothing counts as EAGAIN). */
  const tryOnce = (w: Pending): number => {
    let r: number
    // Less than a page goes by writev: the pipe merges it into its last page,
    // where a handed-over page would take a slot of its own (16 in a pipe).
    if (stage?.active && (stage.holding || w.total - w.written >= PAGE)) {
      r = stage.push(pfd, w.bufs, w.at, w.off)
      if (r === -EPERM || r === -ENOSYS || r === -EINVAL) {
        stage.retire() // vmsplice refused (seccomp, an emulated kernel): write instead
        r = writev(w)
      }
    } else r = writev(w)
    return r === 0 ? -EAGAIN : r
  }

  const writev = (w: Pending): number => {
    const r = libc.writev(pfd, iov, fill(w))
    return r < 0 ? -errno() : r
  }

  /** Writes until done, spinning briefly on a full pipe; then waits a turn or two, then for POLLOUT. */
  const run = (w: Pending): void => {
    w.immediate = null
    w.poll = -1
    if (!live.has(w.id)) return
    let empty = 0
    while (w.written < w.total) {
      const r = tryOnce(w)
      if (r > 0) {
        advance(w, r)
        empty = 0
        continue
      }
      const e = -r
      if (e === EINTR) continue
      if (e !== EAGAIN) return void settleSoon(w, w.written > 0 ? w.written : -e)
      if (++empty < SPIN_TRIES) {
        schedYield()
        continue
      }
      if (w.turns++ < RETRY_TURNS) w.immediate = setImmediate(run, w)
      else {
        w.turns = 0
        w.poll = p.poll(pfd, PollEvents.OUT, false, { complete: (res) => (res < 0 ? finish(w, w.written > 0 ? w.written : res) : run(w)) })
      }
      return
    }
    // Never inside the call that started the write: the proactor's contract.
    settleSoon(w)
  }

  /** Completes `w` with what it wrote, on a microtask (cheaper than `queueMicrotask`, which makes an AsyncResource per call). */
  const settleSoon = (w: Pending, res = w.written): void => {
    void resolved.then(() => finish(w, res))
  }

  const start = (bufs: readonly Uint8Array[], c: Completion): OpId | null => {
    if (!open()) return null
    const w: Pending = { id: next++, c, bufs, at: 0, off: 0, written: 0, total: byteLength(bufs), turns: 0, immediate: null, poll: -1 }
    live.set(w.id, w)
    run(w)
    return w.id
  }

  const proactor = proactorView(p, {
    write: (wfd: number, buf: Uint8Array, off: number, c: Completion, opts?: StartOptions): OpId =>
      (wfd === fd && off === -1 && (pfd >= 0 || buf.length >= threshold) ? start([buf], c) : null) ?? p.write(wfd, buf, off, c, opts),
    writev: (wfd: number, bufs: readonly Uint8Array[], off: number, c: Completion, opts?: StartOptions): OpId =>
      (wfd === fd && off === -1 && (pfd >= 0 || byteLength(bufs) >= threshold) ? start(bufs, c) : null) ?? p.writev(wfd, bufs, off, c, opts),
    cancel: (id: OpId): void => {
      const w = live.get(id)
      if (w === undefined) return p.cancel(id)
      if (w.immediate !== null) clearImmediate(w.immediate)
      if (w.poll !== -1) p.cancel(w.poll)
      w.immediate = null
      w.poll = -1
      queueMicrotask(() => finish(w, -ECANCELED))
    },
  })

  return {
    proactor,
    close() {
      if (live.size !== 0) return
      if (pfd >= 0) closeSync(pfd)
      pfd = -1
      stage?.close()
      stage = undefined
    },
  }
}

function byteLength(bufs: readonly Uint8Array[]): number {
  let n = 0
  for (const b of bufs) n += b.length
  return n
}
