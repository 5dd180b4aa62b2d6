/**
 * The hot path of `File.read`, `File.write` and `File.append`: one reusable
 * {@link Completion} object per transfer in flight that submits straight to
 * the proactor, resumes short transfers itself, and settles the caller's one
 * Promise. Nothing else is allocated per operation (no intermediate Promises,
 * no closures), and the caller's `await` resumes one microtask after the
 * completion is dispatched — with random 4 KiB reads at depth 32 the time from
 * a completion to the next submission is what the device sits idle for.
 *
 * @packageDocumentation
 */
import { abortError, ECANCELED, EIO, getProactor, IoError, type Completion, type OpId, type Proactor, type ReadOp, type WriteOp } from '@ringio/core/transport'
import { MAX_RW } from './transfer.js'

/** Idle operation objects kept for reuse. */
const MAX_FREE = 1024
const NO_REF = { ref: false } as const
const EMPTY = new Uint8Array(0)

/** What an operation tells its file when it settles. */
export interface RwOwner {
  readonly path: string
  /** @internal Called once per operation, before its Promise settles. */
  opDone(): void
}

type Resolve = (n: number) => void
type Reject = (err: unknown) => void

const free: RwOp[] = []
// `new Promise(takeResolvers)` hands its resolvers to `pending`: no executor closure per call.
let pending: RwOp | null = null
function takeResolvers(resolve: Resolve, reject: Reject): void {
  pending!.resolve = resolve
  pending!.reject = reject
}

class RwOp implements Completion {
  id: OpId = -1
  isWrite = false
  op = ''
  owner: RwOwner | null = null
  proactor: Proactor | null = null
  // The op objects, reused: the proactor is done with one by its completion.
  private readonly readOp: ReadOp = { kind: 'read', fd: -1, buf: EMPTY, offset: 0 }
  private readonly writeOp: WriteOp = { kind: 'write', fd: -1, buf: EMPTY, offset: 0 }
  fd = -1
  buf: Uint8Array | null = null
  offset = 0
  done = 0
  block = 0
  /** For an append: the offset to resolve with; -1 otherwise. */
  result = -1
  signal: AbortSignal | undefined = undefined
  ref: typeof NO_REF | undefined = undefined
  resolve: Resolve | null = null
  reject: Reject | null = null
  /** Made once per object: cancels whatever this object has in flight now. */
  readonly onAbort = (): void => {
    if (this.proactor !== null) this.proactor.cancel(this.id)
  }

  /** Submits `buf[done..]` at `offset + done`. */
  submit(): void {
    const buf = this.buf!
    const rest = buf.length - this.done
    const chunk = this.done === 0 && rest <= MAX_RW ? buf : buf.subarray(this.done, this.done + Math.min(rest, MAX_RW))
    const p = this.proactor!
    const op = this.isWrite ? this.writeOp : this.readOp
    op.fd = this.fd
    op.buf = chunk
    op.offset = this.offset + this.done
    this.id = p.start(op, this, this.ref)
  }

  complete(res: number): void {
    if (res < 0) {
      const signal = this.signal
      this.fail(res === -ECANCELED && signal?.aborted === true ? abortError(signal) : new IoError(-res, this.op, this.owner!.path))
      return
    }
    const len = this.buf!.length
    this.done += res
    if (this.isWrite) {
      if (this.done === len) return this.succeed(this.result >= 0 ? this.result : len)
      if (res === 0) return this.fail(this.ioError(`the kernel wrote 0 of ${len - this.done} bytes`))
      if (this.block !== 0 && this.done % this.block !== 0) {
        return this.fail(this.ioError(`O_DIRECT write stopped at unaligned byte ${this.done} of ${len}`))
      }
    } else if (this.done === len || res === 0 || (this.block !== 0 && this.done % this.block !== 0)) {
      // Full, or the end of the file (an O_DIRECT read that stopped unaligned can only be that).
      return this.succeed(this.done)
    }
    // Short, in mid-file: go on from the exact byte where it stopped.
    if (this.signal?.aborted === true) return this.fail(abortError(this.signal))
    try {
      this.submit()
    } catch (err) {
      this.fail(err)
    }
  }

  private ioError(why: string): IoError {
    const path = this.owner!.path
    return new IoError(EIO, this.op, path, { message: `${this.op} failed: EIO (${path}): ${why}` })
  }

  private succeed(n: number): void {
    const resolve = this.resolve!
    this.recycle()
    resolve(n)
  }

  fail(err: unknown): void {
    const reject = this.reject!
    this.recycle()
    reject(err)
  }

  /** Tells the owner, drops every reference (nothing is kept alive by an idle object) and returns it to the free list. */
  private recycle(): void {
    if (this.signal !== undefined) this.signal.removeEventListener('abort', this.onAbort)
    const owner = this.owner!
    this.owner = null
    this.proactor = null
    this.buf = null
    this.readOp.buf = EMPTY
    this.writeOp.buf = EMPTY
    this.signal = undefined
    this.resolve = null
    this.reject = null
    this.id = -1
    if (free.length < MAX_FREE) free.push(this)
    owner.opDone()
  }
}

/**
 * Starts a whole read (`isWrite` false: fills `buf` unless the file ends
 * first; resolves with the bytes read) or a whole write (resolves with
 * `buf.length`, or with `result` when it is ≥ 0). `block` is 0 for a buffered
 * file, else the O_DIRECT granularity at which a short transfer can be
 * resumed. The caller has checked the arguments, counted the operation in
 * flight on `owner` (released through `owner.opDone()` before the Promise
 * settles, also on a synchronous failure), and `buf` is not empty.
 */
export function startRw(
  owner: RwOwner,
  isWrite: boolean,
  op: string,
  fd: number,
  buf: Uint8Array,
  offset: number,
  block: number,
  signal: AbortSignal | undefined,
  ref: boolean | undefined,
  result: number,
): Promise<number> {
  const o = free.pop() ?? new RwOp()
  o.isWrite = isWrite
  o.op = op
  o.owner = owner
  o.fd = fd
  o.buf = buf
  o.offset = offset
  o.done = 0
  o.block = block
  o.result = result
  o.signal = signal
  o.ref = ref === false ? NO_REF : undefined
  pending = o
  const promise = new Promise<number>(takeResolvers)
  pending = null
  if (signal !== undefined) {
    if (signal.aborted) {
      o.signal = undefined
      o.fail(abortError(signal))
      return promise
    }
    signal.addEventListener('abort', o.onAbort, { once: true })
  }
  try {
    o.proactor = getProactor()
    o.submit()
  } catch (err) {
    o.fail(err) // also removes the abort listener
  }
  return promise
}
