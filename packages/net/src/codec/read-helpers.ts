/**
 * Asio-style pull helpers — `readExactly` (`async_read`) and `readUntil`
 * (`async_read_until`) — for protocol code that reads in steps, sharing one
 * buffered reader per connection with {@link framed}: bytes are never read
 * twice, and never lost between a helper and a channel's `messages$`.
 *
 * @packageDocumentation
 */
import { abortError } from '@ringio/core/transport'
import type { Connection } from '../connection.js'
import { bufferedReader, type BufferedReader } from './buffered-reader.js'
import { FrameTooLargeError, PartialFrameError } from './codec.js'

/** Options of {@link readExactly} and {@link readUntil}. */
export interface ReadExactlyOptions {
  /** Aborting rejects the read with the signal's reason; bytes that arrive meanwhile stay buffered for the next read. */
  signal?: AbortSignal
}

/**
 * Reads exactly `n` bytes (Asio's `async_read` with a size).
 *
 * ## Example
 * ```ts
 * const header = await readExactly(conn, 4)
 * const body = await readExactly(conn, header.readUInt32BE(0))
 * const rest = framed(conn, myCodec)          // goes on from the next byte
 * ```
 * @returns rejects with {@link PartialFrameError} at EOF before `n` bytes (the
 * bytes stay buffered and are also in `err.bytes`), the connection's `IoError`, or the abort reason
 *
 * # Cancel safety
 * Aborting loses nothing: bytes received stay buffered for the next read.
 */
export function readExactly(conn: Connection, n: number, opts: ReadExactlyOptions = {}): Promise<Buffer> {
  if (!Number.isInteger(n) || n < 0) return Promise.reject(new RangeError(`readExactly: n must be a non-negative integer, got ${String(n)}`))
  const r = bufferedReader(conn)
  return r.exclusive(async () => {
    while (r.buffer.length < n) {
      if (!(await fillOrAbort(r, opts.signal))) {
        throw new PartialFrameError(r.buffer.length, Buffer.from(r.buffer.bytes), `stream ended after ${r.buffer.length} of ${n} bytes`)
      }
    }
    return r.buffer.take(n)
  })
}

/** Options of {@link readUntil}. */
export interface ReadUntilOptions extends ReadExactlyOptions {
  /**
   * Most bytes before the delimiter. Default 65536: a peer that never sends
   * the delimiter cannot make us buffer without bound.
   */
  max?: number
  /** Include the delimiter in the result (Asio's behaviour). Default false: it is consumed and dropped. */
  keepDelimiter?: boolean
}

/**
 * Reads up to and including `delimiter` (Asio's `async_read_until`).
 *
 * ## Example
 * ```ts
 * const line = (await readUntil(conn, '\r\n')).toString()   // 'HELO example.org'
 * ```
 * @returns the bytes before the delimiter (the delimiter is consumed); rejects
 * with {@link FrameTooLargeError} when `max` bytes pass with no delimiter (the
 * bytes stay buffered), {@link PartialFrameError} at EOF first, the
 * connection's `IoError`, or the abort reason
 *
 * # Cancel safety
 * Aborting loses nothing: bytes received stay buffered for the next read.
 */
export function readUntil(conn: Connection, delimiter: string | Uint8Array, opts: ReadUntilOptions = {}): Promise<Buffer> {
  const delim = typeof delimiter === 'string' ? Buffer.from(delimiter, 'utf8') : delimiter
  const max = opts.max ?? 65536
  if (delim.length === 0) return Promise.reject(new RangeError('readUntil: delimiter must not be empty'))
  if (!Number.isInteger(max) || max < 0) return Promise.reject(new RangeError(`readUntil: max must be a non-negative integer, got ${String(max)}`))
  const r = bufferedReader(conn)
  return r.exclusive(async () => {
    let from = 0
    for (;;) {
      const i = r.buffer.indexOf(delim, from)
      if (i !== -1) {
        if (i > max) throw new FrameTooLargeError(i, max, 'data before the delimiter')
        const out = r.buffer.take(opts.keepDelimiter === true ? i + delim.length : i)
        if (opts.keepDelimiter !== true) r.buffer.skip(delim.length)
        return out
      }
      // The delimiter may straddle chunks: search again from where it could start.
      from = Math.max(0, r.buffer.length - delim.length + 1)
      if (from > max) throw new FrameTooLargeError(-1, max, 'data before the delimiter')
      if (!(await fillOrAbort(r, opts.signal))) {
        throw new PartialFrameError(r.buffer.length, Buffer.from(r.buffer.bytes), `stream ended before the delimiter (${r.buffer.length} byte(s) left)`)
      }
    }
  })
}

function fillOrAbort(r: BufferedReader, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal === undefined) return r.fill()
  if (signal.aborted) return Promise.reject(abortError(signal))
  return new Promise<boolean>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal))
    signal.addEventListener('abort', onAbort, { once: true })
    r.fill().then(
      (v) => {
        signal.removeEventListener('abort', onAbort)
        resolve(v)
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(e)
      },
    )
  })
}
