import { errnoName } from './sys/errno.js'

const IO_ERROR = Symbol.for('ringio.IoError')

/**
 * The one error type of every ringio I/O operation: a failed system call or
 * completion, with the errno name, the operation and the handle it concerns.
 *
 * The `code` is the errno name (`'ECONNRESET'`, `'ENOENT'`, …), so errors are
 * matched on data, not classes. `IoError.is(x)` survives duplicate installs of
 * the package (it checks a `Symbol.for` marker, not `instanceof`).
 *
 * ## Example
 * ```ts
 * import { match, P } from 'ts-pattern'
 * try { await conn.write(buf) } catch (err) {
 *   match(err)
 *     .with({ code: 'ECONNRESET' }, () => log('peer went away'))
 *     .with({ code: P.string, op: 'send' }, (e) => log(`send failed: ${e.code}`))
 *     .otherwise((e) => { throw e })
 * }
 * ```
 */
export class IoError extends Error {
  /** The errno name, e.g. `'ECONNRESET'` (or the code given in `options.code`, e.g. `'ENOTFOUND'`). */
  readonly code: string
  /** The positive errno number, e.g. 104; 0 for an error that has none (a resolver error such as `'ENOTFOUND'`). */
  readonly errno: number
  /** The operation that failed, e.g. `'recv'`, `'io_uring_setup'`. */
  readonly op: string
  /** The fd, path or host name the operation concerned, if any. */
  readonly handle: number | string | undefined
  /** Marker for {@link IoError.is}. */
  readonly [IO_ERROR] = true

  /**
   * @param errno positive errno (a negative completion result is accepted too)
   * @param op the operation name
   * @param handle the fd or path concerned
   * @param options `cause`: the underlying error, if any; `message`: replaces
   *   the default one; `code`: the code to report instead of the errno's name,
   *   for errors that do not come from an errno (e.g. `'ENOTFOUND'` from
   *   getaddrinfo, with `errno` 0)
   */
  constructor(errno: number, op: string, handle?: number | string, options?: { cause?: unknown; message?: string; code?: string }) {
    const no = Math.abs(errno)
    const code = options?.code ?? errnoName(no)
    const on = handle === undefined ? '' : ` (${typeof handle === 'number' ? `fd ${handle}` : handle})`
    super(options?.message ?? `${op} failed: ${code}${on}`, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'IoError'
    this.code = code
    this.errno = no
    this.op = op
    this.handle = handle
  }

  /** True for any ringio `IoError`, even one from another copy of the package. */
  static is(x: unknown): x is IoError {
    return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[IO_ERROR] === true
  }
}

/**
 * The error an aborted operation rejects with: the signal's `reason` when it
 * is an Error (what `AbortSignal.abort()` and `AbortSignal.timeout()` give),
 * else a DOMException named `AbortError` — the web platform's convention.
 */
export function abortError(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason
  if (reason instanceof Error) return reason
  return new DOMException(reason === undefined ? 'The operation was aborted' : String(reason), 'AbortError')
}

/** Throws a `TypeError`/`RangeError` naming `name` unless `value` is an integer in [min, max]. */
export function checkInt(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${name} must be an integer, got ${describe(value)}`)
  }
  if (value < min || value > max) throw new RangeError(`${name} must be between ${min} and ${max}, got ${value}`)
  return value
}

/** Throws a `TypeError` naming `name` unless `value` is a Uint8Array (a Buffer is one). */
export function checkBytes(name: string, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Buffer or Uint8Array, got ${describe(value)}`)
  return value
}

/** Throws a `TypeError` unless `signal` is undefined or an AbortSignal. */
export function checkSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined) return undefined
  if (!(signal instanceof AbortSignal)) throw new TypeError(`signal must be an AbortSignal, got ${describe(signal)}`)
  return signal
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object'
  return `${typeof value} ${String(value).slice(0, 40)}`
}
