/**
 * A process-wide bound on file operations in flight. Operations beyond it
 * wait in a FIFO and start as earlier ones finish, so a caller may issue ten
 * thousand writes at once on either backend.
 *
 * Why: the poll backend runs file I/O as koffi threadpool calls, and koffi
 * refuses more than 256 pending async calls ("Too many asynchronous calls are
 * running"); under io_uring each buffered write the kernel cannot finish
 * inline occupies an io-wq worker, and a CQ overflow costs a slow path. The
 * gate never reorders anything visible: every positional operation carries
 * its offset from the call (and `append` takes its offset from the cursor at
 * call time), so the order in which operations start does not matter.
 *
 * @packageDocumentation
 */
import { abortError, getProactor, type Proactor } from '@ringio/core'

/** Below koffi's 256 async slots, leaving room for other packages' threadpool calls. */
const POLL_LIMIT = 128
/** Under the ring's default CQ size (8 x 1024), so completions never overflow on our account. */
const URING_LIMIT = 4096

interface Waiter {
  start: () => Promise<number>
  resolve: (n: number) => void
  reject: (e: unknown) => void
  signal: AbortSignal | undefined
  onAbort: (() => void) | undefined
}

let inflight = 0
const queue: Waiter[] = []
let head = 0
let limitFor: Proactor | null = null
let limit = POLL_LIMIT

function currentLimit(): number {
  const p = getProactor()
  if (p !== limitFor) {
    limitFor = p
    limit = p.backend === 'poll' ? POLL_LIMIT : URING_LIMIT
  }
  return limit
}

/** Operations started through the gate and not yet settled (for tests and diagnostics). */
export function gateInflight(): number {
  return inflight
}

/**
 * Starts `start()` now if fewer than the limit are in flight, else when a
 * slot frees up. An abort while waiting rejects with the signal's reason and
 * never starts the operation; once started, cancellation is `start`'s job.
 */
export function gated(start: () => Promise<number>, signal?: AbortSignal): Promise<number> {
  if (signal?.aborted === true) return Promise.reject(abortError(signal))
  if (inflight < currentLimit() && head === queue.length) return launch(start)
  return new Promise<number>((resolve, reject) => {
    const w: Waiter = { start, resolve, reject, signal, onAbort: undefined }
    if (signal !== undefined) {
      w.onAbort = () => {
        const i = queue.indexOf(w, head)
        if (i >= 0) queue.splice(i, 1)
        reject(abortError(signal))
      }
      signal.addEventListener('abort', w.onAbort, { once: true })
    }
    queue.push(w)
  })
}

function launch(start: () => Promise<number>): Promise<number> {
  inflight++
  let p: Promise<number>
  try {
    p = start()
  } catch (err) {
    settled()
    return Promise.reject(err)
  }
  return p.then(
    (n) => {
      settled()
      return n
    },
    (err: unknown) => {
      settled()
      throw err
    },
  )
}

function settled(): void {
  inflight--
  while (head < queue.length && inflight < limit) {
    const w = queue[head]!
    queue[head++] = undefined as unknown as Waiter
    if (w.onAbort !== undefined) w.signal!.removeEventListener('abort', w.onAbort)
    launch(w.start).then(w.resolve, w.reject)
  }
  if (head === queue.length) {
    queue.length = 0
    head = 0
  } else if (head > 1024 && head * 2 > queue.length) {
    queue.splice(0, head)
    head = 0
  }
}
