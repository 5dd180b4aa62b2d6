import { describe, expect, it } from 'vitest'
import { firstValueFrom, take, toArray } from 'rxjs'
import { connect, delimited, FrameTooLargeError, lengthPrefixed, PartialFrameError, readExactly, readUntil } from '@ringio/net'
import { serve, within } from './helpers.js'

/** A server that writes `chunks` (with small pauses, so they arrive as separate reads) then ends. */
async function sender(chunks: (string | Buffer)[]) {
  return serve((conn) => {
    void (async () => {
      for (const c of chunks) {
        await conn.write(c)
        await new Promise((r) => setTimeout(r, 5))
      }
      await conn.end()
    })()
  })
}

describe(`read helpers (${process.env['RINGIO_BACKEND']})`, () => {
  it('readExactly and readUntil read in steps across chunk boundaries, then a codec goes on from the next byte', async () => {
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('abc')])
    const srv = await sender(['HEL', 'LO\r', '\nhdr:', Buffer.from([0, 5]), 'world', frame, frame.subarray(0, 2), frame.subarray(2)])
    const conn = await connect({ port: srv.port })
    expect((await readUntil(conn, '\r\n')).toString()).toBe('HELLO')
    expect((await readUntil(conn, ':', { keepDelimiter: true })).toString()).toBe('hdr:')
    const len = (await readExactly(conn, 2)).readUInt16BE(0)
    expect((await readExactly(conn, len)).toString()).toBe('world')
    const frames = await firstValueFrom(lengthPrefixed(conn).messages$.pipe(toArray()))
    expect(frames.map(String)).toEqual(['abc', 'abc'])
    conn.close()
    srv.stop()
  })

  it('calls issued without awaiting run in order, and nothing is read twice', async () => {
    const srv = await sender(['aaaabbbb', 'cccc\nrest\n'])
    const conn = await connect({ port: srv.port })
    const [a, b, c, d] = await Promise.all([readExactly(conn, 4), readExactly(conn, 4), readUntil(conn, '\n'), readUntil(conn, '\n')])
    expect([a, b, c, d].map(String)).toEqual(['aaaa', 'bbbb', 'cccc', 'rest'])
    conn.close()
    srv.stop()
  })

  it('a channel unsubscribed mid-stream leaves the rest for the helpers', async () => {
    const srv = await sender(['one\ntwo\nthree\n', 'tail'])
    const conn = await connect({ port: srv.port })
    const lines = delimited(conn)
    expect(await firstValueFrom(lines.messages$.pipe(take(2), toArray()))).toEqual(['one', 'two'])
    expect((await readUntil(conn, '\n')).toString()).toBe('three')
    expect((await readExactly(conn, 4)).toString()).toBe('tail')
    conn.close()
    srv.stop()
  })

  it('EOF before enough bytes is a PartialFrameError carrying the bytes; readUntil past max is FrameTooLargeError', async () => {
    const srv = await sender(['0123456789', 'abc'])
    const conn = await connect({ port: srv.port })
    await expect(readUntil(conn, '\n', { max: 8 })).rejects.toBeInstanceOf(FrameTooLargeError)
    // The bytes stayed buffered:
    expect((await readExactly(conn, 4)).toString()).toBe('0123')
    const err = await readExactly(conn, 100).catch((e: unknown) => e)
    expect(PartialFrameError.is(err)).toBe(true)
    expect((err as PartialFrameError).bytes?.toString()).toBe('456789abc')
    conn.close()
    srv.stop()
  })

  it('an aborted read loses nothing', async () => {
    const srv = await serve((conn) => void setTimeout(() => void conn.write('late data'), 60))
    const conn = await connect({ port: srv.port })
    await expect(readExactly(conn, 4, { signal: AbortSignal.timeout(10) })).rejects.toMatchObject({ name: 'TimeoutError' })
    expect((await readExactly(conn, 9)).toString()).toBe('late data')
    conn.close()
    srv.stop()
  })

  it('a read aborted before a channel starts hands its late chunk to the channel, in order', async () => {
    // 'c' is sent only after the client has decoded 'a' and 'b' from the chunk the aborted read was waiting for.
    const srv = await serve((conn) => {
      setTimeout(() => void conn.write('a\nb\n'), 60)
      conn.data$.subscribe(() => void conn.write('c\n').then(() => conn.end()))
    })
    const conn = await connect({ port: srv.port })
    await expect(readExactly(conn, 1, { signal: AbortSignal.timeout(10) })).rejects.toMatchObject({ name: 'TimeoutError' })
    expect(await within(firstValueFrom(delimited(conn).messages$.pipe(take(2), toArray())), 3000, 'the frames of the late chunk')).toEqual(['a', 'b'])
    void conn.write('go')
    expect((await readUntil(conn, '\n')).toString()).toBe('c')
    conn.close()
    srv.stop()
  })

  it('a pipelined burst decoded as it arrives: every frame once, in order, across channel and helper turns', async () => {
    const n = 20000
    const lines = Array.from({ length: n }, (_, i) => `line ${i}\n`).join('')
    const srv = await serve((conn) => void conn.write(lines).then(() => conn.end()))
    const conn = await connect({ port: srv.port })
    const got: string[] = []
    // Alternate: a channel takes a few thousand frames, a helper one line, a new channel the next few thousand…
    while (got.length < n) {
      const ch = delimited(conn)
      got.push(...(await firstValueFrom(ch.messages$.pipe(take(Math.min(3000, n - got.length)), toArray()))))
      if (got.length < n) got.push((await readUntil(conn, '\n')).toString())
    }
    expect(got.length).toBe(n)
    expect(got.every((l, i) => l === `line ${i}`)).toBe(true)
    conn.close()
    srv.stop()
  })
})
