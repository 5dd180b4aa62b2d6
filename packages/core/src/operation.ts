/**
 * One-shot operations as Promises: the bridge from a {@link Completion} to a
 * Promise, with AbortSignal cancellation in the kernel.
 *
 * @packageDocumentation
 */
import type { Completion, OpId } from './completion.js'
import type { Proactor } from './proactor.js'
import type { Op } from './ops/op.js'
import { specOf } from './ops/specs.js'
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

  /** Stops listening to the signal. */
  detach(): void {
    if (this.onAbort !== undefined) this.signal!.removeEventListener('abort', this.onAbort)
  }

  complete(res: number): void {
    this.detach()
    if (res >= 0) this.resolve(res)
    else if (res === -ECANCELED && this.signal?.aborted === true) this.reject(abortError(this.signal))
    else this.reject(new IoError(-res, this.op, this.handle))
  }
}

/** How a failed operation is named in its `IoError`, where the op's own name and handle say less than the caller knows. */
export interface OperationLabel {
  /** The operation's name (default: the op kind's, e.g. `'openat'`). */
  op?: string
  /** The handle (default: the op's fd or path), e.g. `'example.com:443'` for a connect. */
  handle?: number | string
}

/**
 * Starts `op` and returns a Promise of its result (`res >= 0`); a negative
 * result rejects with an {@link IoError} naming the op and its handle (the
 * op kind's own, or `label`'s). An already aborted signal rejects at once
 * and submits nothing; aborting later cancels the op in the kernel.
 *
 * ## Example
 * ```ts
 * const n = await run({ kind: 'read', fd, buf, offset: 0 }, { signal: AbortSignal.timeout(1000) })
 * ```
 *
 * @throws TypeError / RangeError at the call site for bad op data (nothing starts)
 */
export function run(op: Op, opts?: OperationOptions, label?: OperationLabel): Promise<number> {
  const signal = checkSignal(opts?.signal)
  if (signal?.aborted === true) return Promise.reject(abortError(signal))
  const p = getProactor()
  const spec = specOf(op)
  spec.check?.(op) // at the call site, not as a rejection
  const name = label?.op ?? spec.errorName
  const handle = label?.handle ?? spec.handle(op)
  const start = opts?.ref === false ? { ref: false } : undefined
  return new Promise<number>((resolve, reject) => {
    const c = new PromiseCompletion(p, resolve, reject, name, handle, signal)
    try {
      c.id = p.start(op, c, start)
    } catch (err) {
      c.detach() // nothing started: the signal must not keep a listener for it
      throw err
    }
  })
}
