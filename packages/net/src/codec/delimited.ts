/**
 * Delimiter framing: frames end with a delimiter (`'\n'` by default) — line
 * protocols, NUL-terminated records, `'\r\n'` commands.
 *
 * @packageDocumentation
 */
import type { Connection } from '../connection.js'
import type { ByteBuffer } from './byte-buffer.js'
import { FrameTooLargeError, PartialFrameError, type Codec } from './codec.js'
import { FramedChannel } from './framed.js'

/** Options of {@link delimitedCodec} and {@link delimited}. */
export interface DelimitedOptions<E extends BufferEncoding | 'buffer' = 'utf8'> {
  /** The frame terminator, one or more bytes. Default `'\n'`. */
  delimiter?: string | Uint8Array
  /**
   * Largest frame, in bytes, delimiter excluded. Default 65536: no sane line
   * is longer, and a peer that never sends the delimiter cannot make us
   * buffer without bound — it gets {@link FrameTooLargeError} once this many
   * bytes passed without one. A bigger `send()` rejects the same way.
   */
  maxFrame?: number
  /** `'utf8'` (default) and the other Buffer encodings decode frames to strings; `'buffer'` keeps Buffers. */
  encoding?: E
  /**
   * At EOF, deliver bytes after the last delimiter as a final frame instead of
   * failing with {@link PartialFrameError}. Default false: an unterminated
   * frame is treated as cut off.
   */
  allowUnterminated?: boolean
}

/** What a delimited codec decodes to: strings, or Buffers with `encoding: 'buffer'`. */
export type DelimitedFrame<E> = E extends 'buffer' ? Buffer : string

/**
 * A delimiter codec (new instance per connection). Encoding rejects a frame
 * that contains the delimiter: it would arrive as two.
 *
 * ## Example
 * ```ts
 * const lines = delimitedCodec({ delimiter: '\r\n', maxFrame: 1024 })
 * ```
 */
export function delimitedCodec<E extends BufferEncoding | 'buffer' = 'utf8'>(opts: DelimitedOptions<E> = {}): Codec<DelimitedFrame<E>, Uint8Array | string> {
  const delimiter = opts.delimiter ?? '\n'
  const delim = typeof delimiter === 'string' ? Buffer.from(delimiter, 'utf8') : Buffer.from(delimiter)
  if (delim.length === 0) throw new RangeError('delimiter must not be empty')
  const maxFrame = opts.maxFrame ?? 65536
  if (!Number.isInteger(maxFrame) || maxFrame < 0) throw new RangeError(`maxFrame must be a non-negative integer, got ${String(maxFrame)}`)
  // A one-byte delimiter is searched as a number: V8's memchr path, no needle matching.
  const needle: number | Buffer = delim.length === 1 ? delim[0]! : delim
  const delimStr = typeof delimiter === 'string' ? delimiter : null
  const encoding = (opts.encoding ?? 'utf8') as BufferEncoding | 'buffer'
  const out = (b: Buffer): DelimitedFrame<E> => (encoding === 'buffer' ? b : b.toString(encoding)) as DelimitedFrame<E>
  // Where the next search starts: bytes before it were already searched (no quadratic rescans).
  let from = 0
  const decode = (buf: ByteBuffer): DelimitedFrame<E> | undefined => {
    const i = buf.indexOf(needle, from)
    if (i === -1) {
      from = Math.max(0, buf.length - delim.length + 1)
      if (from > maxFrame) throw new FrameTooLargeError(-1, maxFrame, 'delimited frame')
      return undefined
    }
    from = 0
    if (i > maxFrame) throw new FrameTooLargeError(i, maxFrame, 'delimited frame')
    const frame = buf.take(i)
    buf.skip(delim.length)
    return out(frame)
  }
  return {
    decode,
    decodeEof(buf: ByteBuffer): DelimitedFrame<E> | undefined {
      const frame = decode(buf)
      if (frame !== undefined || buf.length === 0) return frame
      if (opts.allowUnterminated === true) {
        from = 0
        return out(buf.takeAll())
      }
      throw new PartialFrameError(buf.length, undefined, `stream ended inside a delimited frame (${buf.length} byte(s) with no delimiter)`)
    },
    encode(item: Uint8Array | string): Uint8Array | string | (Uint8Array | string)[] {
      if (typeof item === 'string' && delimStr !== null && (encoding === 'utf8' || encoding === 'buffer')) {
        // The common case (text lines): one string, one copy into the write queue.
        if (item.length * 3 > maxFrame && Buffer.byteLength(item) > maxFrame) throw new FrameTooLargeError(Buffer.byteLength(item), maxFrame, 'delimited frame')
        if (item.includes(delimStr)) throw new RangeError('delimited: the frame contains the delimiter (it would arrive as two frames)')
        return item + delimStr
      }
      const bytes = typeof item === 'string' ? Buffer.from(item, encoding === 'buffer' ? 'utf8' : encoding) : item
      if (!(bytes instanceof Uint8Array)) throw new TypeError(`delimited: a frame must be a string, Buffer or Uint8Array, got ${typeof item}`)
      if (bytes.length > maxFrame) throw new FrameTooLargeError(bytes.length, maxFrame, 'delimited frame')
      if (Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).indexOf(delim) !== -1) {
        throw new RangeError('delimited: the frame contains the delimiter (it would arrive as two frames)')
      }
      return [bytes, delim]
    },
  }
}

/**
 * Frames `conn` by a delimiter: a {@link @ringio/core!index.Channel | Channel} of strings (or Buffers with
 * `encoding: 'buffer'`). The delimiter is stripped on receive and appended on send.
 *
 * ## Example
 * ```ts
 * listen({ port: 7000 }).subscribe((conn) => {
 *   const lines = delimited(conn)                       // '\n', utf8, 64 KiB max
 *   lines.messages$.subscribe((line) => lines.send(`You said ${line}`))
 * })
 * ```
 * Errors: see {@link FramedChannel}: `FrameTooLargeError` past `maxFrame`
 * with no delimiter (the connection is closed), `PartialFrameError` at EOF
 * after an unterminated frame (unless `allowUnterminated`).
 */
export function delimited<E extends BufferEncoding | 'buffer' = 'utf8'>(conn: Connection, opts: DelimitedOptions<E> = {}): FramedChannel<DelimitedFrame<E>, Uint8Array | string> {
  return new FramedChannel(conn, delimitedCodec(opts))
}
