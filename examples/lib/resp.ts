/**
 * A subset of RESP (the Redis protocol) as a ringio `Codec`, and the tiny
 * key-value store the examples serve with it. Shared by
 * `examples/custom-codec.ts` (the how-to) and `examples/bench-resp.ts` (the
 * same codec on ringio and on node:net, driven by `redis-benchmark`).
 *
 * The decoder follows the contract: return `undefined` until a whole value is
 * buffered (consuming nothing), consume exactly one value when it is, and
 * throw only for a corrupt stream — including one that would make us buffer
 * more than `maxFrame` bytes.
 */
import { FrameTooLargeError, type ByteBuffer, type Codec } from '@ringio/net'

/** A RESP value. */
export type Resp = string | number | null | Buffer | RespError | Resp[]

/** A RESP error reply (`-ERR …`). */
export class RespError {
  constructor(readonly message: string) {}
}

/** A RESP protocol violation: the stream cannot be parsed further. */
export class RespSyntaxError extends Error {}

const CR = 0x0d
const PONG = Buffer.from('+PONG\r\n')
const OK = Buffer.from('+OK\r\n')
const NIL = Buffer.from('$-1\r\n')

/** RESP as a Codec. One instance per connection (decoders may keep state; this one does not). */
export class RespCodec implements Codec<Resp> {
  private end = 0

  constructor(private readonly maxFrame = 512 * 1024) {}

  decode(buf: ByteBuffer): Resp | undefined {
    const bytes = buf.bytes
    const value = this.parse(bytes, 0)
    if (value === undefined) {
      // Nothing whole yet: refuse to wait forever for a value bigger than we allow.
      if (bytes.length > this.maxFrame) throw new FrameTooLargeError(-1, this.maxFrame, 'RESP value')
      return undefined
    }
    buf.skip(this.end)
    return value
  }

  encode(v: Resp): Buffer | (Buffer | string)[] {
    if (v === null) return NIL
    if (v === 'OK') return OK
    if (v === 'PONG') return PONG
    if (typeof v === 'number') return Buffer.from(`:${v}\r\n`)
    if (typeof v === 'string') return Buffer.from(`+${v}\r\n`)
    if (v instanceof RespError) return Buffer.from(`-${v.message}\r\n`)
    // Header, bytes and CRLF as one write: the write queue gathers them, no concat here.
    if (Buffer.isBuffer(v)) return [`$${v.length}\r\n`, v, '\r\n']
    return [`*${v.length}\r\n`, ...v.flatMap((x) => this.encode(x))]
  }

  /** Parses one value at `at` (its end goes to `this.end`); undefined when incomplete. */
  private parse(b: Buffer, at: number): Resp | undefined {
    const eol = b.indexOf(CR, at + 1)
    if (eol === -1 || eol + 1 >= b.length) return undefined
    if (b[eol + 1] !== 0x0a) throw new RespSyntaxError('RESP: CR without LF')
    const next = eol + 2
    switch (b[at]) {
      case 0x2b: // '+'
        this.end = next
        return b.toString('latin1', at + 1, eol)
      case 0x2d: // '-'
        this.end = next
        return new RespError(b.toString('latin1', at + 1, eol))
      case 0x3a: // ':'
        this.end = next
        return this.int(b, at + 1, eol)
      case 0x24: { // '$'
        const n = this.int(b, at + 1, eol)
        if (n === -1) {
          this.end = next
          return null
        }
        if (n > this.maxFrame) throw new FrameTooLargeError(n, this.maxFrame, 'RESP bulk string')
        if (b.length < next + n + 2) return undefined
        this.end = next + n + 2
        return Buffer.from(b.subarray(next, next + n))
      }
      case 0x2a: { // '*'
        const n = this.int(b, at + 1, eol)
        if (n > this.maxFrame) throw new FrameTooLargeError(n, this.maxFrame, 'RESP array')
        const items: Resp[] = []
        let end = next
        for (let i = 0; i < n; i++) {
          const item = this.parse(b, end)
          if (item === undefined) return undefined
          items.push(item)
          end = this.end
        }
        this.end = end
        return items
      }
      default: {
        // An inline command (`PING\r\n`, what redis-benchmark's PING_INLINE and telnet users send).
        const c = b[at]!
        if (c < 0x20 || c > 0x7e) throw new RespSyntaxError(`RESP: unexpected type byte 0x${c.toString(16)}`)
        this.end = next
        const words: Buffer[] = []
        for (let i = at; i < eol; ) {
          let j = b.indexOf(0x20, i)
          if (j === -1 || j > eol) j = eol
          if (j > i) words.push(Buffer.from(b.subarray(i, j)))
          i = j + 1
        }
        return words
      }
    }
  }

  /** A decimal integer in `b[from..to)`, without making a string. */
  private int(b: Buffer, from: number, to: number): number {
    const neg = b[from] === 0x2d
    let i = neg ? from + 1 : from
    if (i >= to || to - i > 15) throw new RespSyntaxError(`RESP: bad integer '${b.toString('latin1', from, to)}'`)
    let n = 0
    for (; i < to; i++) {
      const d = b[i]! - 0x30
      if (d < 0 || d > 9) throw new RespSyntaxError(`RESP: bad integer '${b.toString('latin1', from, to)}'`)
      n = n * 10 + d
    }
    return neg ? -n : n
  }
}

/** The store: PING, SET key value, GET key, INCR key (and what redis-benchmark's handshake asks). */
export class RespStore {
  private readonly map = new Map<string, Buffer>()

  execute(cmd: Resp): Resp {
    if (!Array.isArray(cmd) || cmd.length === 0 || !cmd.every(Buffer.isBuffer)) {
      return new RespError('ERR expected an array of bulk strings')
    }
    const args = cmd as Buffer[]
    const name = args[0]!.toString('latin1').toUpperCase()
    switch (name) {
      case 'PING':
        return 'PONG'
      case 'SET':
        this.map.set(args[1]?.toString('latin1') ?? '', Buffer.from(args[2] ?? ''))
        return 'OK'
      case 'GET':
        return this.map.get(args[1]?.toString('latin1') ?? '') ?? null
      case 'INCR': {
        const key = args[1]?.toString('latin1') ?? ''
        const n = Number(this.map.get(key)?.toString() ?? '0') + 1
        this.map.set(key, Buffer.from(String(n)))
        return n
      }
      case 'CONFIG':
        // redis-benchmark asks for `save` and `appendonly` at start: an empty answer is what a server without them gives.
        return []
      default:
        return new RespError(`ERR unknown command '${name}'`)
    }
  }
}
