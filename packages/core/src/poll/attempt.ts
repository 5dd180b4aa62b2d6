/**
 * What one non-blocking attempt of a poll-backend operation returns, and
 * where it posts its completions: the vocabulary shared by the reactor
 * (`readiness.ts`), the runner (`op-runner.ts`) and each op's poll form
 * (`ops/*.ts`).
 *
 * @packageDocumentation
 */
import { EAGAIN, EINTR } from '../sys/errno.js'

/** An attempt needs readiness: leave the op at the head of its queue. */
export const WAIT = 0
/** An attempt finished the op: take it off its queue. */
export const DONE = 1
/** Progress, the op stays (multishot): attempt it again. */
export const AGAIN = 2

/** Where an attempt posts its completions. */
export interface Sink {
  /** The final completion of `slot`. */
  finish(slot: number, res: number, flags: number): void
  /** A multishot completion (`MORE` is added). */
  more(slot: number, res: number, flags: number): void
  /**
   * A buffer-select receive found its group dry. True when completions wait
   * for delivery: their consumers give buffers back, and the runner delivers
   * them before the next fd event (the caller waits for readiness again);
   * false when nothing is pending (the caller ends with ENOBUFS).
   */
  starve(): boolean
}

/** koffi's `.async` callback: the raw result of a blocking call on the threadpool. */
export type PoolCallback = (err: unknown, res: number) => void

/**
 * The end of a single-shot attempt that made its syscall: EAGAIN waits for
 * readiness (unless the caller asked for EAGAIN itself, with its own
 * `MSG_DONTWAIT`), EINTR retries, anything else is the final completion.
 */
export function settle(slot: number, sink: Sink, res: number, eagainIsResult: boolean): number {
  if (res === -EAGAIN && !eagainIsResult) return WAIT
  if (res === -EINTR) return AGAIN
  sink.finish(slot, res, 0)
  return DONE
}
