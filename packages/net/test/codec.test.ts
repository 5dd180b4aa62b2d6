import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { firstValueFrom, toArray } from 'rxjs'
import {
  ByteBuffer,
  connect,
  decodeEof,
  delimited,
  delimitedCodec,
  FrameTooLargeError,
  lengthPrefixed,
  lengthPrefixedCodec,
  PartialFrameError,
  type Codec,
  type Connection,
} from '@ringio/net'
import { serve } from './helpers.js'

type AnyCodec = Codec<Buffer | string, Uint8Array | string>
interface Case { name: string; make: () => AnyCodec; frame: fc.Arbitrary<Buffer>; maxFrame: number; overhead: number }

const noNewline = (b: Uint8Array): Buffer => Buffer.from(b.map((x) => (x === 0x0a ? 0x20 : x)))
const noCrlf = (b: Uint8Array): Buffer => Buffer.from(b.map((x) => (x === 0x0d ? 0x20 : x)))
const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((b) => Buffer.from(b))

const CASES: Case[] = [
  { name: 'lengthPrefixed u32be', make: () => lengthPrefixedCodec({ maxFrame: 300 }), frame: bytes(300), maxFrame: 300, overhead: 4 },
  { name: 'lengthPrefixed u16be', make: () => lengthPrefixedCodec({ header: 'u16be', maxFrame: 300 }), frame: bytes(300), maxFrame: 300, overhead: 2 },
  { name: 'lengthPrefixed varint', make: () => lengthPrefixedCodec({ header: 'varint', maxFrame: 300 }), frame: bytes(300), maxFrame: 300, overhead: 5 },
  { name: "delimited '\\n' (buffer)", make: () => delimitedCodec({ encoding: 'buffer', maxFrame: 300 }), frame: fc.uint8Array({ maxLength: 300 }).map(noNewline), maxFrame: 300, overhead: 1 },
  { name: "delimited '\\r\\n' (buffer)", make: () => delimitedCodec({ delimiter: '\r\n', encoding: 'buffer', maxFrame: 300 }), frame: fc.uint8Array({ maxLength: 300 }).map(noCrlf), maxFrame: 300, overhead: 2 },
]

function encodeAll(codec: AnyCodec, frames: Buffer[]): Buffer {
  const parts: Buffer[] = []
  for (const f of frames) {
    const e = codec.encode(f)
    for (const p of Array.isArray(e) ? e : [e]) parts.push(Buffer.from(p as Uint8Array | string))
  }
  return Buffer.concat(parts)
}

/** Feeds `stream` cut at `cuts` into a fresh decoder; returns the frames, checking the buffer bound after each chunk. */
function decodeChunks(c: Case, stream: Buffer, cuts: number[]): Buffer[] {
  const codec = c.make()
  const buf = new ByteBuffer()
  const out: Buffer[] = []
  let at = 0
  for (const cut of [...cuts.filter((x) => x > 0 && x < stream.length).sort((a, b) => a - b), stream.length]) {
    buf.append(stream.subarray(at, cut))
    at = cut
    for (let f = codec.decode(buf); f !== undefined; f = codec.decode(buf)) out.push(Buffer.from(f as Buffer))
    expect(buf.length).toBeLessThanOrEqual(c.maxFrame + c.overhead)
  }
  for (let f = decodeEof(codec, buf); f !== undefined; f = decodeEof(codec, buf)) out.push(Buffer.from(f as Buffer))
  expect(buf.length).toBe(0)
  return out
}

describe.each(CASES)('$name', (c) => {
  it('decode(encode(x)) = x under any chunking', () => {
    fc.assert(
      fc.property(fc.array(c.frame, { maxLength: 20 }), fc.array(fc.nat(8000), { maxLength: 30 }), (frames, cuts) => {
        const stream = encodeAll(c.make(), frames)
        expect(decodeChunks(c, stream, cuts)).toEqual(frames)
      }),
      { numRuns: 300 },
    )
  })

  it('decodes the same frames with the input split at every byte boundary, and one byte at a time', () => {
    const frames = [Buffer.alloc(0), Buffer.from('a'), Buffer.alloc(200, 0x41), Buffer.alloc(0), Buffer.from('xyz')]
    const stream = encodeAll(c.make(), frames)
    for (let i = 0; i <= stream.length; i++) expect(decodeChunks(c, stream, [i])).toEqual(frames)
    expect(decodeChunks(c, stream, Array.from({ length: stream.length }, (_, i) => i))).toEqual(frames)
  })

  it('random garbage only ever throws the codec errors, and never buffers beyond maxFrame', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.array(fc.nat(2000), { maxLength: 20 }), (garbage, cuts) => {
        try {
          decodeChunks(c, Buffer.from(garbage), cuts)
        } catch (err) {
          if (FrameTooLargeError.is(err) || PartialFrameError.is(err)) return
          throw err
        }
      }),
      { numRuns: 500 },
    )
  })

  it('refuses to encode a frame over maxFrame', () => {
    expect(() => c.make().encode(Buffer.alloc(c.maxFrame + 1, 0x41))).toThrow(FrameTooLargeError)
  })
})

describe('codec details', () => {
  it('lengthPrefixed fails on the header alone, before buffering a huge frame', () => {
    const codec = lengthPrefixedCodec({ maxFrame: 1024 })
    const buf = new ByteBuffer()
    buf.append(Buffer.from([0xff, 0xff, 0xff, 0xff]))
    expect(() => codec.decode(buf)).toThrow(/4294967295 bytes exceeds maxFrame \(1024\)/)
  })

  it('delimited gives strings by default, refuses a frame containing the delimiter, and treats an unterminated tail as partial', () => {
    const codec = delimitedCodec()
    const buf = new ByteBuffer()
    buf.append(Buffer.from('héllo\nwor'))
    expect(codec.decode(buf)).toBe('héllo')
    expect(codec.decode(buf)).toBeUndefined()
    expect(() => codec.decodeEof!(buf)).toThrow(PartialFrameError)
    expect(() => codec.encode('two\nlines')).toThrow(/contains the delimiter/)
    const lax = delimitedCodec({ allowUnterminated: true })
    const b2 = new ByteBuffer()
    b2.append(Buffer.from('tail'))
    expect(lax.decodeEof!(b2)).toBe('tail')
  })

  it('ByteBuffer.take returns frames that later input never overwrites', () => {
    const buf = new ByteBuffer()
    buf.append(Buffer.from('ab'))
    buf.append(Buffer.from('cd'))
    const f = buf.take(3)
    buf.append(Buffer.from('efghijklmnop'))
    expect(f.toString()).toBe('abc')
    expect(buf.takeAll().toString()).toBe('defghijklmnop')
  })
})

/** A server whose connections are framed by `make`, echoing every frame. */
async function framedEcho(make: (c: Connection) => { messages$: import('rxjs').Observable<unknown>; send(m: never): Promise<void>; close(): void }) {
  return serve((conn) => {
    const ch = make(conn)
    ch.messages$.subscribe({ next: (m) => void ch.send(m as never), complete: () => ch.close(), error: () => undefined })
  })
}

function sizes(count: number): number[] {
  let s = 3
  const next = (): number => (s = (s * 1103515245 + 12345) % 2 ** 31)
  return Array.from({ length: count }, (_, i) => (i % 30 === 0 ? 0 : next() % 101 === 0 ? 10_000 + (next() % 50_000) : next() % 1000))
}

describe(`codecs over TCP (${process.env['RINGIO_BACKEND']})`, () => {
  it.each(['u16be', 'u32be', 'varint'] as const)('lengthPrefixed %s keeps the boundaries of 10 000 frames', async (header) => {
    const srv = await framedEcho((c) => lengthPrefixed(c, { header }))
    const ch = lengthPrefixed(await connect({ port: srv.port }), { header })
    const plan = sizes(10_000)
    const got = firstValueFrom(ch.messages$.pipe(toArray()))
    await Promise.all(plan.map((n, i) => ch.send(Buffer.alloc(n, i & 0xff))))
    await ch.end()
    const frames = await got
    expect(frames.map((f) => f.length)).toEqual(plan)
    frames.forEach((f, i) => f.length > 0 && expect(f[f.length - 1]).toBe(i & 0xff))
    srv.stop()
  })

  it('delimited keeps the boundaries of 10 000 lines, empty ones included', async () => {
    const srv = await framedEcho((c) => delimited(c))
    const ch = delimited(await connect({ port: srv.port }))
    const plan = sizes(10_000).map((n, i) => 'x'.repeat(n % 3000) + String(i % 10).repeat(n > 0 ? 1 : 0))
    const got = firstValueFrom(ch.messages$.pipe(toArray()))
    await Promise.all(plan.map((l) => ch.send(l)))
    await ch.end()
    const lines = await got
    expect(lines.length).toBe(plan.length)
    expect(lines).toEqual(plan)
    srv.stop()
  })

  it('an oversized frame errors the channel with FrameTooLargeError and closes the connection, after the replies already accepted', async () => {
    let serverErr: unknown
    const srv = await serve((conn) => {
      const ch = lengthPrefixed(conn, { maxFrame: 100 })
      ch.messages$.subscribe({ next: (m) => void ch.send(m), error: (e) => (serverErr = e) })
    })
    const conn = await connect({ port: srv.port })
    const ch = lengthPrefixed(conn, { header: 'u32be' })
    const got = firstValueFrom(ch.messages$.pipe(toArray()))
    void ch.send('one')
    void ch.send('two')
    void conn.write(Buffer.from([0, 0, 1, 0])) // a 256-byte header, over the server's 100
    expect((await got).map(String)).toEqual(['one', 'two']) // replies flushed, then EOF
    expect(FrameTooLargeError.is(serverErr)).toBe(true)
    expect((serverErr as FrameTooLargeError).size).toBe(256)
    ch.close()
    srv.stop()
  })

  it('a partial frame at EOF is a PartialFrameError, with every whole frame before it delivered', async () => {
    const seen: string[] = []
    let err: unknown
    const done = new Promise<void>((resolve) => {
      void serve((conn) => {
        lengthPrefixed(conn).messages$.subscribe({ next: (m) => seen.push(m.toString()), error: (e) => { err = e; resolve() }, complete: resolve })
      }).then(async (srv) => {
        const conn = await connect({ port: srv.port })
        const ch = lengthPrefixed(conn)
        void ch.send('whole')
        void conn.write(Buffer.from([0, 0, 0, 9, 1, 2])) // header says 9, only 2 follow
        await conn.end()
        srv.stop()
      })
    })
    await done
    expect(seen).toEqual(['whole'])
    expect(PartialFrameError.is(err)).toBe(true)
  })

  it('send on a closed channel rejects with EPIPE; encode errors reject without writing', async () => {
    const srv = await framedEcho((c) => delimited(c))
    const ch = delimited(await connect({ port: srv.port }), { maxFrame: 10 })
    await expect(ch.send('way too long for ten')).rejects.toBeInstanceOf(FrameTooLargeError)
    const got = firstValueFrom(ch.messages$)
    await ch.send('ok')
    expect(await got).toBe('ok')
    ch.close()
    await expect(ch.send('late')).rejects.toMatchObject({ code: 'EPIPE' })
    srv.stop()
  })
})
