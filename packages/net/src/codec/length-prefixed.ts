/**
 * Length-prefixed framing: each frame is a length header (`u16be`, `u32be`
 * or an unsigned LEB128 `varint`) followed by that many bytes.
 *
 * @packageDocumentation
 */
import type { Connection } from '../connection.js'
import type { ByteBuffer } from './byte-buffer.js'
import { FrameTooLargeError, type Codec } from './codec.js'
import { FramedChannel } from './framed.js'

/** The header formats of {@link lengthPrefixedCodec}. */
export type LengthHeader = 'u16be' | 'u32be' | 'varint'

/** Options of {@link lengthPrefixedCodec} and {@link lengthPrefixed}. */
export interface LengthPrefixedOptions {
  /** The length header: `'u32be'` (default), `'u16be'` or `'varint'` (protobuf's unsigned LEB128, at most 5 bytes). */
  header?: LengthHeader
  /**
   * Largest payload accepted, in bytes; a bigger header fails the stream with
   * {@link FrameTooLargeError} *before* anything is buffered, and a bigger
   * `send()` rejects. Default 8 MiB (tokio-util's default): a hostile header
   * announcing 4 GiB cannot make us allocate it. Capped at 65535 for `u16be`.
   */
  maxFrame?: number
}

/** tokio-util's `LengthDelimitedCodec` default. */
const DEFAULT_MAX_FRAME = 8 * 1024 * 1024
const MAX_VARINT_BYTES = 5

/**
 * A length-prefixed codec of Buffers (new instance per connection).
 *
 * ## Example
 * ```ts
 * const codec = lengthPrefixedCodec({ header: 'varint', maxFrame: 1 << 20 })
 * const ch = framed(conn, codec)
 * ```
 * @throws RangeError for a bad `maxFrame`, TypeError for an unknown header
 */
export function lengthPrefixedCodec(opts: LengthPrefixedOptions = {}): Codec<Buffer, Uint8Array | string> {
  const header = opts.header ?? 'u32be'
  if (header !== 'u16be' && header !== 'u32be' && header !== 'varint') throw new TypeError(`header must be 'u16be', 'u32be' or 'varint', got ${String(header)}`)
  const limit = header === 'u16be' ? 0xffff : 0xffffffff
  const maxFrame = opts.maxFrame ?? Math.min(DEFAULT_MAX_FRAME, limit)
  if (!Number.isInteger(maxFrame) || maxFrame < 0 || maxFrame > limit) throw new RangeError(`maxFrame must be an integer 0..${limit} for ${header}, got ${String(maxFrame)}`)
  return {
    decode(buf: ByteBuffer): Buffer | undefined {
      const h = readHeader(buf, header)
      if (h === undefined) return undefined
      const [size, headerLen] = h
      // Checked as soon as the header is known: never buffer a frame we will refuse.
      if (size > maxFrame) throw new FrameTooLargeError(size, maxFrame)
      if (buf.length < headerLen + size) return undefined
      buf.skip(headerLen)
      return buf.take(size)
    },
    encode(item: Uint8Array | string): (Uint8Array | string)[] {
      const payload = typeof item === 'string' ? Buffer.from(item, 'utf8') : item
      if (!(payload instanceof Uint8Array)) throw new TypeError(`lengthPrefixed: a frame must be a Buffer, Uint8Array or string, got ${typeof item}`)
      if (payload.length > maxFrame) throw new FrameTooLargeError(payload.length, maxFrame)
      return [writeHeader(payload.length, header), payload]
    },
  }
}

function readHeader(buf: ByteBuffer, header: LengthHeader): [size: number, headerLen: number] | undefined {
  const b = buf.bytes
  if (header === 'u32be') return b.length < 4 ? undefined : [b.readUInt32BE(0), 4]
  if (header === 'u16be') return b.length < 2 ? undefined : [b.readUInt16BE(0), 2]
  let size = 0
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    if (i >= b.length) return undefined
    const byte = b[i]!
    size += (byte & 0x7f) * 2 ** (7 * i)
    if ((byte & 0x80) === 0) return [size, i + 1]
  }
  // Five continuation bytes: beyond 2^35, and beyond any maxFrame.
  throw new FrameTooLargeError(-1, 0xffffffff, 'varint length header')
}

function writeHeader(size: number, header: LengthHeader): Buffer {
  if (header === 'u32be') {
    const h = Buffer.allocUnsafe(4)
    h.writeUInt32BE(size, 0)
    return h
  }
  if (header === 'u16be') {
    const h = Buffer.allocUnsafe(2)
    h.writeUInt16BE(size, 0)
    return h
  }
  const bytes: number[] = []
  do {
    const low = size % 128
    size = Math.floor(size / 128)
    bytes.push(size > 0 ? low | 0x80 : low)
  } while (size > 0)
  return Buffer.from(bytes)
}

/**
 * Frames `conn` with length-prefixed frames: a {@link @ringio/core!index.Channel | Channel} of Buffers.
 *
 * ## Example
 * ```ts
 * const ch = lengthPrefixed(await connect({ port: 7000 }), { header: 'u16be' })
 * ch.messages$.subscribe((frame) => console.log(frame.length))
 * await ch.send(Buffer.from('hello'))        // 00 05 68 65 6c 6c 6f
 * ```
 * Errors: see {@link FramedChannel}: `FrameTooLargeError` over `maxFrame`
 * (the connection is closed), `PartialFrameError` at EOF inside a frame.
 */
export function lengthPrefixed(conn: Connection, opts: LengthPrefixedOptions = {}): FramedChannel<Buffer, Uint8Array | string> {
  return new FramedChannel(conn, lengthPrefixedCodec(opts))
}
