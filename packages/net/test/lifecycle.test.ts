/**
 * Issue 4, section 3 — the life of a connection: end() flushes then FIN, a
 * peer reset fails pending writes without hurting the server, unsubscribing
 * cancels the kernel receive without losing bytes, no fd leaks, and the
 * write() error contract (bad arguments, after end, on close).
 */
import { firstValueFrom, EmptyError, type Subscription } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { IoError, sockets } from '@ringio/core/transport'
import { connect, type Connection } from '@ringio/net'
import { collect, fdCount, pair, pattern, peekQueued, rng, serve, setLingerZero, sleep, SO_RCVBUF, SO_SNDBUF, SOL_SOCKET, until, within, stalled } from './helpers.js'

const BACKEND = process.env['RINGIO_BACKEND']

/** Makes `server`'s writes back up: the client reads nothing and both socket buffers are small. */
function throttle(client: Connection, server: Connection): void {
  sockets.setIntOption(client.fd, SOL_SOCKET, SO_RCVBUF, 16384)
  sockets.setIntOption(server.fd, SOL_SOCKET, SO_SNDBUF, 65536)
}


function settle(ps: Promise<void>[]): Promise<PromiseSettledResult<void>[]> {
  return Promise.allSettled(ps)
}

describe(`end() (${BACKEND})`, () => {
  it('delivers every queued write, then FIN; the read side stays open (half-close)', async () => {
    const r = rng(42)
    const parts = Array.from({ length: 300 }, (_, i) => pattern(1 + Math.floor(r() * 64 * 1024), 100 + i))
    const expected = Buffer.concat(parts)
    let server!: Connection
    const writes: Promise<void>[] = []
    let queuedAtEnd = 0
    let ended!: Promise<void>
    const fromClient: Buffer[] = []
    let serverReadDone = false
    const srv = await serve((c) => {
      server = c
      c.data$.subscribe({ next: (b) => fromClient.push(b), complete: () => (serverReadDone = true) })
      for (const p of parts) writes.push(c.write(p))
      queuedAtEnd = c.writableLength
      ended = c.end() // at once: nothing awaited
    })
    const client = await connect({ port: srv.port })
    const got = await collect(client.data$) // resolves on the FIN
    expect(queuedAtEnd).toBeGreaterThan(0)
    expect(got.length).toBe(expected.length)
    expect(got.equals(expected)).toBe(true)
    await ended
    const results = await settle(writes)
    expect(results.every((x) => x.status === 'fulfilled')).toBe(true)
    // Half-close: the server still reads what the client sends after the FIN.
    await client.write('after FIN')
    await until(() => Buffer.concat(fromClient).toString() === 'after FIN', 2000, 'the bytes sent after the FIN')
    await client.end()
    await until(() => serverReadDone, 2000, 'the server to see EOF')
    await server.closed // both directions done: the fd is closed
    client.close()
    srv.stop()
  })
})

describe(`peer reset (${BACKEND})`, () => {
  /** A server connection with 16 MiB of writes backed up, whose peer then resets (SO_LINGER {1, 0} + close = RST). */
  async function resetMidWrite(subscribe: boolean) {
    const { client: victim, server, stop } = await pair()
    let readSide = 'open'
    if (subscribe) server.data$.subscribe({ complete: () => (readSide = 'complete'), error: (e: IoError) => (readSide = `error ${e.code}`) })
    const writes = Array.from({ length: 16 }, (_, i) => server.write(pattern(1 << 20, i)))
    throttle(victim, server)
    await stalled(server)
    expect(server.writableLength).toBeGreaterThan(0)
    setLingerZero(victim.fd)
    victim.close()
    await within(victim.closed, 2000, 'the victim close')
    const results = await within(settle(writes), 5000, `the pending writes to settle after the reset (writableLength ${server.writableLength})`)
    return { server, results, readSide: () => readSide, stop }
  }

  it('rejects the pending writes with IoError (ECONNRESET/EPIPE); the server keeps serving other connections', async () => {
    const conns: Connection[] = []
    const writes: Promise<void>[] = []
    const srv = await serve((c) => {
      conns.push(c)
      if (conns.length === 1) {
        c.data$.subscribe({ error: () => {} })
        for (let i = 0; i < 16; i++) writes.push(c.write(pattern(1 << 20, i)))
      } else {
        c.data$.subscribe({ next: (b) => void c.write(b), complete: () => void c.end() })
      }
    })
    const victim = await connect({ port: srv.port })
    await until(() => conns.length === 1, 2000, 'the accept')
    const server = conns[0]!
    throttle(victim, server)
    await stalled(server)
    expect(server.writableLength).toBeGreaterThan(0)
    setLingerZero(victim.fd)
    victim.close()
    await within(victim.closed, 2000, 'the victim close')
    const results = await within(settle(writes), 5000, `the pending writes to settle after the reset (writableLength ${server.writableLength})`)
    const rejected = results.filter((x): x is PromiseRejectedResult => x.status === 'rejected')
    expect(rejected.length).toBeGreaterThan(0)
    // What resolved is a prefix; everything after the first failure failed.
    const firstFail = results.findIndex((x) => x.status === 'rejected')
    expect(results.slice(firstFail).every((x) => x.status === 'rejected')).toBe(true)
    for (const x of rejected) {
      expect(IoError.is(x.reason)).toBe(true)
      expect(['ECONNRESET', 'EPIPE']).toContain((x.reason as IoError).code)
    }
    expect(server.writableLength).toBe(0)
    // Later writes on the failed connection reject too, never hang.
    await expect(within(server.write('late'), 2000, 'a write after the reset')).rejects.toMatchObject({ name: 'IoError' })

    // The listener and the other connections are unaffected.
    const others = await Promise.all([0, 1, 2].map(() => within(connect({ port: srv.port }), 2000, 'connect after the reset')))
    await Promise.all(
      others.map(async (other, i) => {
        const echoed = collect(other.data$)
        const msg = pattern(256 * 1024, 99 + i)
        await within(other.write(msg), 5000, 'the echo write')
        await within(other.end(), 5000, 'the echo end')
        expect((await within(echoed, 5000, 'the echo')).equals(msg)).toBe(true)
        other.close()
      }),
    )
    server.close()
    srv.stop()
  })

  it('a reset mid-write errors data$ with the IoError (not a clean EOF) and closes the fd', async () => {
    const { server, results, readSide, stop } = await resetMidWrite(true)
    try {
      expect(results.some((x) => x.status === 'rejected')).toBe(true)
      await sleep(100)
      // DESIGN/issue 4: data$ "completes on peer EOF, errors with IoError on reset".
      expect(readSide()).toMatch(/^error (ECONNRESET|EPIPE)$/)
      // "The fd is closed ... when the socket fails".
      await within(server.closed, 2000, 'the failed connection to close its fd')
    } finally {
      stop()
    }
  })

  it('a reset closes a write-only connection too (data$ never subscribed): no fd left open', async () => {
    const { server, results, stop } = await resetMidWrite(false)
    try {
      expect(results.some((x) => x.status === 'rejected')).toBe(true)
      await within(server.closed, 2000, 'the failed write-only connection to close its fd')
    } finally {
      stop()
    }
  })
})

describe(`unsubscribe cancels the kernel receive (${BACKEND})`, () => {
  it('after unsubscribe the bytes stay in the kernel and reach the next subscriber exactly once', async () => {
    const { client, server, stop } = await pair()
    try {
      const first: Buffer[] = []
      const sub = server.data$.subscribe((b) => first.push(b))
      await within(client.write('hello'), 2000, 'write hello')
      await until(() => Buffer.concat(first).toString() === 'hello', 2000, 'the first bytes')
      sub.unsubscribe()
      await sleep(20) // the cancel lands in the kernel
      const more = pattern(64 * 1024, 5)
      await within(client.write(more), 2000, 'write 64 KiB')
      await sleep(50)
      // Nobody took them: the kernel still holds every byte (MSG_PEEK consumes nothing) ...
      expect(await within(peekQueued(server.fd), 2000, 'the MSG_PEEK recv')).toBe(more.length)
      expect(Buffer.concat(first).toString()).toBe('hello')
      // ... and the next subscriber gets them all, once, then exactly what follows.
      const second: Buffer[] = []
      let eof = false
      const sub2 = server.data$.subscribe({ next: (b) => second.push(b), complete: () => (eof = true) })
      await within(client.write('|end'), 2000, 'write the sentinel')
      await client.end()
      await until(() => eof, 2000, 'EOF after resubscribing')
      expect(Buffer.concat(second).equals(Buffer.concat([more, Buffer.from('|end')]))).toBe(true)
      sub2.unsubscribe()
    } finally {
      stop()
    }
  })

  it('loses and duplicates nothing while a reader unsubscribes and resubscribes under a continuous stream', async () => {
    const { client, server, stop } = await pair()
    try {
      const total = 8 << 20
      const data = pattern(total, 77)
      const got: Buffer[] = []
      let received = 0
      let cycles = 0
      let done = false
      const r = rng(3)
      const restart = (sub: Subscription): void => {
        cycles++
        sub.unsubscribe()
        const how = r()
        if (how < 0.3) subscribe() // at once: the cancel is still in flight
        else if (how < 0.6) queueMicrotask(subscribe)
        else if (how < 0.8) setImmediate(subscribe)
        else setTimeout(subscribe, Math.floor(r() * 3))
      }
      const subscribe = (): void => {
        let drop = false
        let sub: Subscription | undefined
        // Chunks replayed synchronously inside subscribe() arrive before `sub` exists: they are
        // still ours (nothing may be lost); the drop then happens right after subscribe() returns.
        sub = server.data$.subscribe({
          next: (b) => {
            got.push(b)
            received += b.length
            if (!drop && r() < 0.2) {
              // Drop the subscription from inside the callback (other completions of the batch may follow).
              drop = true
              if (sub !== undefined) restart(sub)
            }
          },
          complete: () => (done = true),
        })
        if (drop && !sub.closed) restart(sub)
      }
      subscribe()
      for (let off = 0; off < total; ) {
        const n = Math.min(total - off, 1 + Math.floor(r() * 32 * 1024))
        void client.write(data.subarray(off, off + n))
        off += n
        if (r() < 0.1) await sleep(0)
      }
      await client.end()
      await until(() => done, 15_000, `EOF (received ${received} of ${total})`)
      const all = Buffer.concat(got)
      expect(all.length).toBe(total)
      expect(all.equals(data)).toBe(true)
      expect(cycles).toBeGreaterThan(20)
    } finally {
      stop()
    }
  })
  it('reading chunk by chunk with firstValueFrom(data$) loses nothing (unsubscribe inside next)', async () => {
    // firstValueFrom unsubscribes synchronously from inside next(): the chunks that raced the
    // cancel are kept by the connection and must reach the next firstValueFrom, every one.
    const { client, server, stop } = await pair()
    try {
      const data = pattern(2 << 20, 8)
      void client.write(data).then(() => client.end())
      const got: Buffer[] = []
      let received = 0
      const deadline = Date.now() + 10_000
      for (;;) {
        let chunk: Buffer
        try {
          chunk = await firstValueFrom(server.data$)
        } catch (e) {
          if (e instanceof EmptyError) break // EOF
          throw e
        }
        got.push(chunk)
        received += chunk.length
        if (Date.now() > deadline) throw new Error(`stuck after ${received} bytes`)
      }
      expect(received).toBe(data.length)
      expect(Buffer.concat(got).equals(data)).toBe(true)
    } finally {
      stop()
    }
  })
})

describe(`no fd leaks (${BACKEND})`, () => {
  it('leaves no fd behind after 1000 connections closed by the server first', async () => {
    const before = fdCount()
    const conns: Connection[] = []
    const srv = await serve((c) => {
      conns.push(c)
      c.close()
    })
    let eofs = 0
    for (let batch = 0; batch < 50; batch++) {
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          const c = await connect({ port: srv.port })
          await collect(c.data$) // the server's FIN
          eofs++
          c.close()
          await c.closed
        }),
      )
    }
    srv.stop()
    await Promise.all(conns.map((c) => c.closed))
    await sleep(20)
    expect(eofs).toBe(1000)
    expect(conns.length).toBe(1000)
    expect(fdCount()).toBeLessThanOrEqual(before + 1)
  })
})

describe(`write() errors (${BACKEND})`, () => {
  it('throws TypeError synchronously for bad data, naming it, and loses nothing accepted before or after', async () => {
    const { client, server, stop } = await pair()
    try {
      const got = collect(client.data$)
      const a = server.write('a')
      const bad: unknown[] = [123, null, undefined, {}, true, [Buffer.from('x'), 5], ['ok', { length: 1 }]]
      for (const x of bad) {
        const before = server.writableLength
        let threw: unknown = null
        try {
          void server.write(x as never)
        } catch (e) {
          threw = e
        }
        expect(threw, `write(${String(x)})`).toBeInstanceOf(TypeError)
        expect((threw as TypeError).message).toMatch(/data/)
        expect(server.writableLength).toBe(before) // nothing of it was queued
      }
      let threw: unknown = null
      try {
        void server.write([Buffer.from('x'), 5] as never)
      } catch (e) {
        threw = e
      }
      expect((threw as TypeError).message).toMatch(/data\[1\]/)
      const b = server.write(Buffer.from('b'))
      const c = server.write(['c', Buffer.from('d'), new Uint8Array([0x65])])
      const empty = server.write('')
      await Promise.all([a, b, c, empty])
      await server.end()
      expect((await got).toString()).toBe('abcde')
    } finally {
      stop()
    }
  })

  it('rejects a write after end() with EPIPE; writes before it are delivered', async () => {
    const { client, server, stop } = await pair()
    try {
      const got = collect(client.data$)
      const before = server.write('before')
      const ended = server.end()
      const after = server.write('after')
      await expect(after).rejects.toMatchObject({ name: 'IoError', code: 'EPIPE' })
      await before
      await ended
      await expect(server.write('later')).rejects.toMatchObject({ code: 'EPIPE' })
      expect((await got).toString()).toBe('before')
    } finally {
      stop()
    }
  })

  it('close() with writes pending rejects them with ECANCELED; later writes reject with EPIPE', async () => {
    const { client, server, stop } = await pair()
    try {
      throttle(client, server)
      let completed = false
      server.data$.subscribe({ complete: () => (completed = true) })
      const writes = Array.from({ length: 10 }, (_, i) => server.write(pattern(1 << 20, i)))
      await stalled(server)
      server.close()
      const results = await settle(writes)
      const firstFail = results.findIndex((x) => x.status === 'rejected')
      expect(firstFail).toBeGreaterThanOrEqual(0)
      for (const x of results.slice(firstFail)) {
        expect(x.status).toBe('rejected')
        expect((x as PromiseRejectedResult).reason).toMatchObject({ name: 'IoError', code: 'ECANCELED' })
      }
      expect(completed).toBe(true) // data$ completes on close()
      await server.closed
      await expect(server.write('x')).rejects.toMatchObject({ name: 'IoError', code: 'EPIPE' })
      expect(server.writableLength).toBe(0)
    } finally {
      stop()
    }
  })
})
