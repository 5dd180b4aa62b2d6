/**
 * Writing your own protocol as a `Codec`: a subset of RESP (the Redis
 * protocol) — simple strings, errors, integers, bulk strings and arrays —
 * and a tiny key-value server speaking it. Server and client in one process;
 * prints the replies and exits 0.
 *
 *   node examples/dist/custom-codec.js
 *
 * The decoder follows the contract: return `undefined` until a whole value is
 * buffered (consuming nothing), consume exactly one value when it is, and
 * throw only for a corrupt stream — including one that would make us buffer
 * more than `maxFrame` bytes.
 */
import { firstValueFrom, take, toArray } from 'rxjs'
import { connect, framed, FrameTooLargeError, listen, type ByteBuffer, type Codec } from '@ringio/net'

/** A RESP value. */
type Resp = string | number | null | Buffer | RespError | Resp[]

/** A RESP error reply (`-ERR …`). */
class RespError {
  constructor(readonly message: string) {}
}

/** A RESP protocol violation: the stream cannot be parsed further. */
class RespSyntaxError extends Error {}

const CRLF = Buffer.from('\r\n')

/** RESP as a Codec. One instance per connection. */
class RespCodec implements Codec<Resp> {
  constructor(private readonly maxFrame = 512 * 1024) {}

  decode(buf: ByteBuffer): Resp | undefined {
    const bytes = buf.bytes
    const parsed = this.parse(bytes, 0)
    if (parsed === undefined) {
      // Nothing whole yet: refuse to wait forever for a value bigger than we allow.
      if (bytes.length > this.maxFrame) throw new FrameTooLargeError(-1, this.maxFrame, 'RESP value')
      return undefined
    }
    buf.skip(parsed.end)
    return parsed.value
  }

  encode(v: Resp): Buffer {
    if (v === null) return Buffer.from('$-1\r\n')
    if (typeof v === 'number') return Buffer.from(`:${v}\r\n`)
    if (typeof v === 'string') return Buffer.from(`+${v}\r\n`)
    if (v instanceof RespError) return Buffer.from(`-${v.message}\r\n`)
    if (Buffer.isBuffer(v)) return Buffer.concat([Buffer.from(`$${v.length}\r\n`), v, CRLF])
    return Buffer.concat([Buffer.from(`*${v.length}\r\n`), ...v.map((x) => this.encode(x))])
  }

  /** Parses one value at `at`; undefined when incomplete. */
  private parse(b: Buffer, at: number): { value: Resp; end: number } | undefined {
    const eol = b.indexOf(CRLF, at)
    if (eol === -1) return undefined
    const line = b.toString('latin1', at + 1, eol)
    const next = eol + 2
    switch (b[at]) {
      case 0x2b: // '+'
        return { value: line, end: next }
      case 0x2d: // '-'
        return { value: new RespError(line), end: next }
      case 0x3a: // ':'
        return { value: this.int(line), end: next }
      case 0x24: { // '$'
        const n = this.int(line)
        if (n === -1) return { value: null, end: next }
        if (n > this.maxFrame) throw new FrameTooLargeError(n, this.maxFrame, 'RESP bulk string')
        if (b.length < next + n + 2) return undefined
        return { value: Buffer.from(b.subarray(next, next + n)), end: next + n + 2 }
      }
      case 0x2a: { // '*'
        const n = this.int(line)
        const items: Resp[] = []
        let end = next
        for (let i = 0; i < n; i++) {
          const item = this.parse(b, end)
          if (item === undefined) return undefined
          items.push(item.value)
          end = item.end
        }
        return { value: items, end }
      }
      default:
        throw new RespSyntaxError(`RESP: unexpected type byte 0x${(b[at] ?? 0).toString(16)}`)
    }
  }

  private int(s: string): number {
    if (!/^-?\d+$/.test(s)) throw new RespSyntaxError(`RESP: bad integer '${s}'`)
    return Number(s)
  }
}

// The server: PING, SET key value, GET key, INCR key.
const store = new Map<string, Buffer>()
let port = 0
const server = listen({ host: '127.0.0.1', port: 0, onListening: (a) => (port = a.port) }).subscribe((conn) => {
  const ch = framed(conn, new RespCodec())
  ch.messages$.subscribe({
    next: (cmd) => void ch.send(execute(cmd)),
    complete: () => ch.close(),
    error: (err: Error) => console.error(`server: ${err.message}`),
  })
})

function execute(cmd: Resp): Resp {
  if (!Array.isArray(cmd) || cmd.length === 0 || !cmd.every(Buffer.isBuffer)) return new RespError('ERR expected an array of bulk strings')
  const [name, ...args] = (cmd as Buffer[]).map((b) => b.toString())
  switch (name?.toUpperCase()) {
    case 'PING':
      return 'PONG'
    case 'SET':
      store.set(args[0]!, Buffer.from(args[1] ?? ''))
      return 'OK'
    case 'GET':
      return store.get(args[0]!) ?? null
    case 'INCR': {
      const n = Number(store.get(args[0]!)?.toString() ?? '0') + 1
      store.set(args[0]!, Buffer.from(String(n)))
      return n
    }
    default:
      return new RespError(`ERR unknown command '${name}'`)
  }
}

// The client: commands are arrays of bulk strings; replies come back in order.
const client = framed(await connect({ port }), new RespCodec())
const commands = [['PING'], ['SET', 'greeting', 'hello, ringio'], ['GET', 'greeting'], ['INCR', 'hits'], ['INCR', 'hits'], ['GET', 'missing'], ['FLY']]
const replies = firstValueFrom(client.messages$.pipe(take(commands.length), toArray()))
for (const c of commands) void client.send(c.map((s) => Buffer.from(s)))
const got = await replies
commands.forEach((c, i) => {
  const r = got[i]
  console.log(`${c.join(' ').padEnd(28)} -> ${r instanceof RespError ? `(error) ${r.message}` : Buffer.isBuffer(r) ? JSON.stringify(r.toString()) : JSON.stringify(r)}`)
})
client.close()
await client.closed
server.unsubscribe()
