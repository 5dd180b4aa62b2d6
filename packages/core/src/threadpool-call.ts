/**
 * {@link threadpoolCall}: one blocking libc call on libuv's threadpool
 * through koffi's `.async`, within the environment's pool gate — for the
 * calls a package needs that neither backend has as an operation (e.g.
 * `ftruncate` where io_uring lacks IORING_OP_FTRUNCATE, before Linux 6.9).
 *
 * @packageDocumentation
 */
import { abortError } from './errors.js'
import { isPoolFull, poolGate, type PoolClient } from './poll/pool-gate.js'
import { errno } from './sys/libc.js'

/** koffi's `.async` callback: `(err, result)`. */
export type ThreadpoolCallback = (err: unknown, res: number) => void

interface Job {
  start: (cb: ThreadpoolCallback) => void
  resolve: (n: number) => void
  reject: (e: unknown) => void
  signal: AbortSignal | undefined
  onAbort: (() => void) | undefined
}

/** Calls waiting in the gate by token; a token missing here was aborted while it waited. */
class Calls implements PoolClient {
  private readonly jobs = new Map<number, Job>()
  private next = 0

  add(job: Job): number {
    const token = this.next++
    this.jobs.set(token, job)
    return token
  }

  drop(token: number): void {
    this.jobs.delete(token)
  }

  launch(token: number): boolean {
    const job = this.jobs.get(token)
    if (job === undefined) return false
    const cb: ThreadpoolCallback = (err, res) => {
      // First thing: koffi restored the worker's errno for this callback only.
      const r = res === -1 ? -errno() : res
      poolGate.done()
      if (err != null) job.reject(err)
      else job.resolve(r)
    }
    try {
      job.start(cb)
    } catch (e) {
      if (isPoolFull(e)) throw e // stays in the map: it waits again, first in line
      this.jobs.delete(token)
      if (job.onAbort !== undefined) job.signal!.removeEventListener('abort', job.onAbort)
      job.reject(e)
      return false
    }
    this.jobs.delete(token)
    if (job.onAbort !== undefined) job.signal!.removeEventListener('abort', job.onAbort)
    return true
  }
}

const calls = new Calls()

/**
 * Runs `start(cb)` — which must make exactly one koffi `.async` call with
 * `cb` as its callback — on the threadpool once the environment's budget of
 * koffi async calls has room (FIFO behind the calls already waiting; see
 * `pool-gate.ts`). Resolves with the call's return value, or `-errno` when it
 * returned -1 (the convention of `read(2)`-like calls; a call that returns -1
 * for another reason must be read accordingly).
 *
 * ## Example
 * ```ts
 * const r = await threadpoolCall((cb) => ftruncate.async(fd, 4096, cb))
 * if (r < 0) throw new IoError(-r, 'truncate', fd)
 * ```
 *
 * # Cancel safety
 * Aborting `signal` while the call waits for room rejects with the signal's
 * reason and never starts it. Once started, a call cannot be interrupted:
 * its result stands and the abort is ignored.
 *
 * @returns rejects with the abort reason, or with koffi's error for a bad call
 */
export function threadpoolCall(start: (cb: ThreadpoolCallback) => void, signal?: AbortSignal): Promise<number> {
  if (signal?.aborted === true) return Promise.reject(abortError(signal))
  return new Promise<number>((resolve, reject) => {
    const job: Job = { start, resolve, reject, signal, onAbort: undefined }
    const token = calls.add(job)
    if (signal !== undefined) {
      job.onAbort = () => {
        calls.drop(token)
        reject(abortError(signal))
      }
      signal.addEventListener('abort', job.onAbort, { once: true })
    }
    poolGate.submit(calls, token, 0)
  })
}
