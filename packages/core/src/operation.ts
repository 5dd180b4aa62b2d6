/**
 * One-shot operations as Promises: the bridge from a {@link Completion} to a
 * Promise, with AbortSignal cancellation in the kernel.
 *
 * @packageDocumentation
 */
import type { Completion, OpId, Proactor } from './proactor.js'
import { abortError, checkSignal, IoError } from './errors.js'
import { ECANCELED } from './sys/errno.js'
import { getProactor } from './backend.js'

/** Options of every one-shot operation. */
export interface OperationOptions {
  /**
   * Aborting cancels the operation in the kernel (IORING_OP_ASYNC_CANCEL); the
   * Promise then rejects with the signal's reason (an `AbortError`). If the
   * operation completed before the cancel reached it, its real result wins.
   */
  signal?: AbortSignal
  /** When false, the pending operation does not keep the process alive. */
  ref?: boolean
}

class PromiseCompletion implements Completion {
  id: OpId = -1
  private readonly onAbort: (() => void) | undefined
  constructor(
    private readonly proactor: Proactor,
    private readonly resolve: (n: number) => void,
    private readonly reject: (e: unknown) => void,
    private readonly op: string,
    private readonly handle: number | string | undefined,
    private readonly signal: AbortSignal | undefined,
  ) {
    if (signal !== undefined) {
      this.onAbort = () => this.proactor.cancel(this.id)
      signal.addEventListener('abort', this.onAbort, { once: true })
    }
  }

  complete(res: number): void {
    if (this.onAbort !== undefined) this.signal!.removeEventListener('abort', this.onAbort)
    if (res >= 0) this.resolve(res)
    else if (res === -ECANCELED && this.signal?.aborted === true) this.reject(abortError(this.signal))
    else this.reject(new IoError(-res, this.op, this.handle))
  }
}

/**
 * Starts an operation and returns a Promise of its result (`res >= 0`); a
 * negative result rejects with an {@link IoError} naming `op` and `handle`.
 * An already aborted signal rejects at once and submits nothing.
 *
 * @param op the operation's name, for errors
 * @param handle the fd or path, for errors
 * @param start starts the operation on the proactor with the given completion
 */
export function run(
  op: string,
  handle: number | string | undefined,
  opts: OperationOptions | undefined,
  start: (p: Proactor, c: Completion) => OpId,
): Promise<number> {
  const signal = checkSignal(opts?.signal)
  if (signal?.aborted === true) return Promise.reject(abortError(signal))
  const p = getProactor()
  return new Promise<number>((resolve, reject) => {
    const c = new PromiseCompletion(p, resolve, reject, op, handle, signal)
    c.id = start(p, c)
  })
}

/** The `StartOptions` derived from operation options. */
export function startOpts(opts: OperationOptions | undefined): {
  /** `false`: the operation does not keep the process alive. */
  ref: boolean
} | undefined {
  return opts?.ref === false ? { ref: false } : undefined
}
