/**
 * The codec contract, after tokio-util's `Decoder`/`Encoder`: a decoder turns
 * buffered bytes into frames incrementally, saying "need more" (undefined)
 * or "here is a frame"; only a corrupt stream throws. An encoder is one method.
 *
 * @packageDocumentation
 */
import type { WriteData } from '@ringio/core/transport'
import type { ByteBuffer } from './byte-buffer.js'

/**
 * Decodes frames from a byte stream. A decoder instance belongs to one
 * stream: it may keep state between calls (e.g. how far it already searched).
 *
 * ## Example
 * ```ts
 * // A one-byte-length-prefixed frame:
 * const decoder: Decoder<Buffer> = {
 *   decode(buf) {
 *     const n = buf.byteAt(0)
 *     if (n === undefined || buf.length < 1 + n) return undefined   // need more
 *     buf.skip(1)
 *     return buf.take(n)
 *   },
 * }
 * ```
 */
export interface Decoder<T> {
  /**
   * Decodes one frame from the front of `buf`, consuming its bytes.
   * @returns the frame, or `undefined` when `buf` holds no whole frame yet
   * (consume nothing then — or only bytes already accounted for in your state)
   * @throws {@link FrameTooLargeError} (or your own error) for a corrupt or
   * hostile stream; the stream is then closed. A decoder must throw rather than
   * let `buf` grow past its maximum frame size.
   */
  decode(buf: ByteBuffer): T | undefined
  /**
   * Called at EOF, repeatedly until it returns `undefined`. Default (when
   * absent): `decode`, and a {@link PartialFrameError} if bytes remain that
   * make no frame — a partial frame is never dropped silently.
   */
  decodeEof?(buf: ByteBuffer): T | undefined
}

/** Encodes one item into bytes (one method, like tokio's `Encoder`). */
export interface Encoder<T> {
  /**
   * @returns the frame's bytes (an array is written contiguously, in order)
   * @throws for an item that cannot be encoded (e.g. {@link FrameTooLargeError}); nothing is sent then
   */
  encode(item: T): WriteData
}

/**
 * A decoder and an encoder for one protocol: what {@link framed} needs to turn
 * a byte `Connection` into a `Channel`.
 *
 * @typeParam In the decoded frame type
 * @typeParam Out what `encode` accepts (defaults to `In`)
 */
export interface Codec<In, Out = In> extends Decoder<In>, Encoder<Out> {}

/** Runs `decoder`'s EOF step (its own `decodeEof`, or the default that rejects leftovers). */
export function decodeEof<T>(decoder: Decoder<T>, buf: ByteBuffer): T | undefined {
  if (decoder.decodeEof !== undefined) return decoder.decodeEof(buf)
  const frame = decoder.decode(buf)
  if (frame === undefined && buf.length > 0) throw new PartialFrameError(buf.length)
  return frame
}

const TOO_LARGE = Symbol.for('ringio.FrameTooLargeError')
const PARTIAL = Symbol.for('ringio.PartialFrameError')

/**
 * A frame exceeds the codec's `maxFrame`: the stream is corrupt or hostile.
 * Raised as soon as the size is known (a length header) or the limit is
 * passed (no delimiter within `maxFrame` bytes) — before buffering it.
 */
export class FrameTooLargeError extends Error {
  /** The frame's declared size, when known (a length header), else -1. */
  readonly size: number
  /** The limit it broke. */
  readonly maxFrame: number
  /** Marker for {@link FrameTooLargeError.is}. */
  readonly [TOO_LARGE] = true

  constructor(size: number, maxFrame: number, what = 'frame') {
    super(size >= 0 ? `${what} of ${size} bytes exceeds maxFrame (${maxFrame})` : `${what} exceeds maxFrame (${maxFrame}) with no end in sight`)
    this.name = 'FrameTooLargeError'
    this.size = size
    this.maxFrame = maxFrame
  }

  /** True for any `FrameTooLargeError`, even from another copy of the package. */
  static is(x: unknown): x is FrameTooLargeError {
    return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[TOO_LARGE] === true
  }
}

/** The stream ended in the middle of a frame: `buffered` bytes made no whole frame (they are in `bytes`). */
export class PartialFrameError extends Error {
  /** How many bytes were left. */
  readonly buffered: number
  /** The leftover bytes, when the reader handed them over. */
  readonly bytes: Buffer | undefined
  /** Marker for {@link PartialFrameError.is}. */
  readonly [PARTIAL] = true

  constructor(buffered: number, bytes?: Buffer, message?: string) {
    super(message ?? `stream ended inside a frame: ${buffered} byte(s) left that make no whole frame`)
    this.name = 'PartialFrameError'
    this.buffered = buffered
    this.bytes = bytes
  }

  /** True for any `PartialFrameError`, even from another copy of the package. */
  static is(x: unknown): x is PartialFrameError {
    return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[PARTIAL] === true
  }
}
