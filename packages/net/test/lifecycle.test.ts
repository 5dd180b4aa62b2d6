/**
 * Issue 4, section 3 — the life of a connection: end() flushes then FIN, a
 * peer reset fails pending writes without hurting the server, unsubscribing
 * cancels the kernel receive without losing bytes, no fd leaks, and the
 * write() error contract (bad arguments, after end, on close).
 */
import { firstValueFrom, EmptyError, type Subscription } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { IoError, sockets } from '@ringio/core'
import { connect, type Connection } from '@ringio/net'
import { collect, fdCount, pair, pattern, peekQueued, rng, serve, setLingerZero, sleep, SO_RCVBUF, SO_SNDBUF, SOL_SOCKET, until } from './helpers.js'

const BACKEND = process.env['RINGIO_BACKEND']

/** Makes `server`'s writes back up: the client reads nothing and both socket buffers are small. */
function throttle(client: Connection, server: Connection): void {
  sockets.setIntOption(client.fd, SOL_SOCKET, SO_RCVBUF, 16384)
  sockets.setIntOption(server.fd, SOL_SOCKET, SO_SNDBUF, 65536)
}

/** Waits until the kernel stopped taking `conn`'s bytes (writableLength unchanged for 50 ms). */
async function stalled(conn: Connection): Promise<void> {
  let last = -1
  for (let i = 0; i < 200; i++) {
    const now = conn.writableLength
    if (now === last && now > 0) return
    last = now
    await sleep(50)
  }
  throw new Error('the write queue never stalled')
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
  it('rejects the pending writes with IoError (ECONNRESET/EPIPE); the server keeps serving other connections', async () => {
    const conns: Connection[] = []
    const writes: Promise<void>[] = []
    let serverErr: unknown = null
    const srv = await serve((c) => {
      conns.push(c)
      if (conns.length === 1) {
        c.data$.subscribe({ error: (e) => (serverErr = e) })
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
    const queued = server.writableLength
    expect(queued).toBeGreaterThan(0)
    // The peer resets: SO_LINGER {1, 0} then close sends RST.
    setLingerZero(victim.fd)
    victim.close()
    const results = await settle(writes)
    const rejected = results.filter((x): x is PromiseRejectedResult => x.status === 'rejected')
    expect(rejected.length).toBeGreaterThan(0)
    // What resolved is a prefix; everything after the first failure failed.
    const firstFail = results.findIndex((x) => x.status === 'rejected')
    expect(results.slice(firstFail).every((x) => x.status === 'rejected')).toBe(true)
    for (const x of rejected) {
      expect(IoError.is(x.reason)).toBe(true)
      expect(['ECONNRESET', 'EPIPE']).toContain((x.reason as IoError).code)
    }
    await server.closed // a failed socket is closed
    expect(server.writableLength).toBe(0)
    if (serverErr !== null) expect(['ECONNRESET', 'EPIPE']).toContain((serverErr as IoError).code)
    // Later writes on the failed connection reject too, never hang.
    await expect(server.write('late')).rejects.toMatchObject({ name: 'IoError' })

    // The listener and the other connections are unaffected.
    const other = await connect({ port: srv.port })
    const echoed = collect(other.data$)
    const msg = pattern(256 * 1024, 99)
    await other.write(msg)
    await other.end()
    expect((await echoed).equals(msg)).toBe(true)
    other.close()
    srv.stop()
  })
})

describe(`unsubscribe cancels the kernel receive (${BACKEND})`, () => {
  it('after unsubscribe the bytes stay in the kernel and reach the next subscriber exactly once', async () => {
    const { client, server, stop } = await pair()
    try {
      const first: Buffer[] = []
      const sub = server.data$.subscribe((b) => first.push(b))
      await client.write('hello')
      await until(() => Buffer.concat(first).toString() === 'hello', 2000, 'the first bytes')
      sub.unsubscribe()
      await sleep(20) // the cancel lands in the kernel
      const more = pattern(64 * 1024, 5)
      await client.write(more)
      await sleep(50)
      // Nobody took them: the kernel still holds every byte (MSG_PEEK consumes nothing) ...
      expect(await peekQueued(server.fd)).toBe(more.length)
      expect(Buffer.concat(first).toString()).toBe('hello')
      // ... and the next subscriber gets them all, once.
      const second: Buffer[] = []
      const sub2 = server.data$.subscribe((b) => second.push(b))
      await until(() => Buffer.concat(second).length >= more.length, 2000, 'the bytes after resubscribing')
      await sleep(20)
      expect(Buffer.concat(second).equals(more)).toBe(true)
      expect(await peekQueued(server.fd)).toBe(0)
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
      expect(cycles).toBeGreaterThan(50)
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
