/**
 * Issue 4, section 1 "Interop": `for await (const chunk of conn)`,
 * `toNodeStream(conn)` in a `stream/promises` pipeline, `toWebStreams(conn)`,
 * over real sockets, byte-exact, with backpressure.
 */
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { describe, expect, it } from 'vitest'
import { connect, toNodeStream, toWebStreams, type Connection } from '@ringio/net'
import { collect, pair, pattern, rng, serve, sleep, within } from './helpers.js'

const BACKEND = process.env['RINGIO_BACKEND']

/** An echo server: every byte back, FIN after the peer's FIN. */
function echo(): ReturnType<typeof serve> {
  return serve((c: Connection) => c.data$.subscribe({ next: (b) => void c.write(b), complete: () => void c.end() }))
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

describe(`for await (${BACKEND})`, () => {
  it('iterates every chunk until EOF, byte-exact, with a slow loop body', async () => {
    const { client, server, stop } = await pair()
    try {
      const data = pattern(4 << 20, 21)
      const sending = (async () => {
        const r = rng(9)
        for (let off = 0; off < data.length; ) {
          const n = Math.min(data.length - off, 1 + Math.floor(r() * 128 * 1024))
          void server.write(data.subarray(off, off + n))
          off += n
        }
        await server.end()
      })()
      const got: Buffer[] = []
      let i = 0
      for await (const chunk of client) {
        got.push(chunk)
        if (i++ % 16 === 0) await sleep(1) // a slow consumer: the reader pauses and resumes under it
      }
      await sending
      const all = Buffer.concat(got)
      expect(all.length).toBe(data.length)
      expect(all.equals(data)).toBe(true)
    } finally {
      stop()
    }
  })

  it('breaking out of the loop stops reading without closing the write side', async () => {
    const { client, server, stop } = await pair()
    try {
      void server.write('first chunk')
      for await (const chunk of client) {
        expect(chunk.toString()).toBe('first chunk')
        break
      }
      // The connection still works in the other direction.
      const got: Buffer[] = []
      server.data$.subscribe((b) => got.push(b))
      await client.write('still open')
      await within(
        (async () => {
          while (Buffer.concat(got).toString() !== 'still open') await sleep(2)
        })(),
        2000,
        'the write after break',
      )
    } finally {
      stop()
    }
  })
  it('bytes read ahead by the iterator are not lost when the loop breaks: data$ gets the rest', async () => {
    // The iterator reads ahead (up to 16 chunks) while the loop body runs. Breaking out leaves the
    // connection open; what was read ahead but never yielded must reach the next reader (the
    // cancel-safety data$ promises), or a protocol that reads a header with for-await and the
    // body with data$ silently loses bytes.
    const { client, server, stop } = await pair()
    try {
      const data = pattern(1 << 20, 23)
      await server.write(data)
      await server.end()
      await sleep(50) // everything is in the client's socket buffer: the iterator can read ahead
      const head: Buffer[] = []
      for await (const chunk of client) {
        head.push(chunk)
        await sleep(20) // a slow loop body: the read-ahead fills meanwhile
        break
      }
      const rest = await within(collect(client.data$), 5000, 'the rest through data$')
      const all = Buffer.concat([...head, rest])
      expect(all.length).toBe(data.length)
      expect(all.equals(data)).toBe(true)
    } finally {
      stop()
    }
  })
})

describe(`paced reads at EOF (${BACKEND})`, () => {
  it('a held reader of an ended connection still gets the chunks waiting when EOF arrived', async () => {
    // The connection closes by itself once EOF was read and end() finished: it must not do so
    // (dropping the backlog) while a paced consumer still holds chunks it has not handed out.
    const { client, server, stop } = await pair()
    try {
      const data = pattern(40 << 10, 61)
      await client.end()
      await server.write(data)
      await server.end()
      await sleep(50) // data and FIN wait in the client's socket: one readiness hands out all of it
      let open!: () => void
      const gate = new Promise<void>((r) => (open = r))
      const got: Buffer[] = []
      let done = false
      client.read({ pace: () => gate }).subscribe({ next: (b) => got.push(b), complete: () => (done = true) })
      await sleep(50) // the first chunk's pace holds the reader while the rest and EOF complete
      open()
      await within(
        (async () => {
          while (!done) await sleep(2)
        })(),
        5000,
        'EOF after every chunk',
      )
      expect(Buffer.concat(got).equals(data)).toBe(true)
    } finally {
      stop()
    }
  })
})

describe(`toNodeStream (${BACKEND})`, () => {
  it('round-trips 8 MiB through an echo server in a stream/promises pipeline', async () => {
    const srv = await echo()
    const conn = await connect({ port: srv.port })
    try {
      const data = pattern(8 << 20, 31)
      const r = rng(5)
      async function* source(): AsyncGenerator<Buffer> {
        for (let off = 0; off < data.length; ) {
          const n = Math.min(data.length - off, 1 + Math.floor(r() * 256 * 1024))
          yield data.subarray(off, off + n)
          off += n
        }
      }
      const got: Buffer[] = []
      await within(
        pipeline(Readable.from(source()), toNodeStream(conn), async (chunks: AsyncIterable<Buffer>) => {
          for await (const c of chunks) got.push(c)
        }),
        20_000,
        'the pipeline',
      )
      const all = Buffer.concat(got)
      expect(all.length).toBe(data.length)
      expect(sha(all)).toBe(sha(data))
    } finally {
      conn.close()
      srv.stop()
    }
  })

  it('honours write backpressure: write() returns false above the highWaterMark and drain follows', async () => {
    const { client, server, stop } = await pair()
    try {
      const duplex = toNodeStream(server)
      const big = pattern(1 << 20, 2)
      let ok = true
      let writes = 0
      while (ok && writes < 64) {
        ok = duplex.write(big)
        writes++
      }
      expect(ok).toBe(false)
      const drained = new Promise<void>((r) => duplex.once('drain', () => r()))
      let received = 0
      client.data$.subscribe((b) => (received += b.length))
      await within(drained, 10_000, 'drain')
      duplex.end()
      await within(
        (async () => {
          while (received < writes * big.length) await sleep(5)
        })(),
        10_000,
        'all bytes',
      )
      expect(received).toBe(writes * big.length)
    } finally {
      stop()
    }
  })
})

describe(`toWebStreams (${BACKEND})`, () => {
  it('round-trips through an echo server: writable.close() is end(), readable ends at EOF', async () => {
    const srv = await echo()
    const conn = await connect({ port: srv.port })
    try {
      const { readable, writable } = toWebStreams(conn)
      const data = pattern(4 << 20, 41)
      const writing = (async () => {
        const w = writable.getWriter()
        const r = rng(6)
        for (let off = 0; off < data.length; ) {
          const n = Math.min(data.length - off, 1 + Math.floor(r() * 64 * 1024))
          await w.write(data.subarray(off, off + n))
          off += n
        }
        await w.close()
      })()
      const got: Uint8Array[] = []
      const reader = readable.getReader()
      for (;;) {
        const { value, done } = await within(reader.read(), 10_000, 'a web stream read')
        if (done) break
        got.push(value)
      }
      await writing
      const all = Buffer.concat(got)
      expect(all.length).toBe(data.length)
      expect(sha(all)).toBe(sha(data))
    } finally {
      conn.close()
      srv.stop()
    }
  })

  it('pipes one connection into another (readable.pipeTo(writable)) byte-exact', async () => {
    const a = await pair()
    const b = await pair()
    try {
      const data = pattern(2 << 20, 51)
      // a.client -> a.server ==pipeTo==> b.server -> b.client
      const piping = toWebStreams(a.server).readable.pipeTo(toWebStreams(b.server).writable)
      const got: Buffer[] = []
      let eof = false
      b.client.data$.subscribe({ next: (x) => got.push(x), complete: () => (eof = true) })
      void a.client.write(data)
      await a.client.end()
      await within(piping, 10_000, 'pipeTo')
      await within(
        (async () => {
          while (!eof) await sleep(2)
        })(),
        5000,
        'EOF at the far end',
      )
      expect(Buffer.concat(got).equals(data)).toBe(true)
    } finally {
      a.stop()
      b.stop()
    }
  })
})
