/**
 * Timers on the ring (IORING_OP_TIMEOUT) as Observables.
 *
 * @packageDocumentation
 */
import { Observable } from 'rxjs'
import { checkInt, IoError } from './errors.js'
import { ECANCELED, ETIME } from './sys/errno.js'
import { IORING_CQE_F_MORE } from './uring/abi.js'
import { getProactor } from './backend.js'
import type { Completion } from './completion.js'
import type { TimeoutOp } from './ops/timeout.js'

const MAX_MS = 2 ** 31 - 1

function timerObservable(ms: number, repeat: boolean): Observable<number> {
  return new Observable<number>((subscriber) => {
    const p = getProactor()
    const op: TimeoutOp = { kind: 'timeout', ms, repeat }
    let n = 0
    let done = false
    const c: Completion = {
      complete(res, flags) {
        if (res === -ETIME || res === 0) {
          subscriber.next(n++)
          if (!repeat) { done = true; subscriber.complete() }
          else if ((flags & IORING_CQE_F_MORE) === 0 && !subscriber.closed) { id = p.start(op, c) } // the kernel ended the multishot: re-arm
          return
        }
        done = true
        if (res !== -ECANCELED) subscriber.error(new IoError(-res, 'timeout'))
      },
    }
    let id = p.start(op, c)
    // Cancel safety: unsubscribing cancels the in-kernel timeout; it never fires after.
    return () => {
      if (!done) p.cancel(id)
    }
  })
}

/**
 * Emits `0` once after `ms` milliseconds, then completes.
 *
 * ## Example
 * ```ts
 * ringTimer(100).subscribe(() => console.log('100 ms later'))
 * ```
 * Unsubscribing cancels the timeout in the kernel (IORING_OP_ASYNC_CANCEL).
 * Named apart from RxJS's `timer`, so both can be imported in one module.
 * @param ms delay in milliseconds (0 to 2^31-1; fractions are kept to the nanosecond)
 */
export function ringTimer(ms: number): Observable<number> {
  check(ms)
  return timerObservable(ms, false)
}

/**
 * Emits 0, 1, 2, … every `ms` milliseconds (a multishot timeout: one SQE for
 * every tick). Never completes; unsubscribe to stop it (that cancels it in
 * the kernel). Named apart from RxJS's `interval`.
 *
 * ## Example
 * ```ts
 * const sub = ringInterval(1000).subscribe((n) => console.log(`tick ${n}`))
 * setTimeout(() => sub.unsubscribe(), 5500)
 * ```
 */
export function ringInterval(ms: number): Observable<number> {
  check(ms)
  if (ms === 0) throw new RangeError('interval ms must be > 0')
  return timerObservable(ms, true)
}

/** @deprecated Renamed {@link ringTimer} (RxJS has its own `timer`); this alias goes in the next minor release. */
export const timer = ringTimer
/** @deprecated Renamed {@link ringInterval} (RxJS has its own `interval`); this alias goes in the next minor release. */
export const interval = ringInterval

function check(ms: number): void {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) throw new TypeError(`ms must be a finite number, got ${String(ms)}`)
  checkInt('ms', Math.floor(ms), 0, MAX_MS)
}
