/**
 * Issue 13 — backpressure that composes: the documented reactive patterns
 * never make ringio hold more than about a high-water mark per queue, on both
 * backends, and nothing is lost. The 1 GiB proxy run is in
 * `backpressure-proxy.test.ts`; these drive the same rules in-process.
 */
import { connect as nodeConnect } from 'node:net'
import { concatMap, from, map } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { connect, lengthPrefixed, writeTo, type Connection } from '@ringio/net'
import { pattern, serve, sleep, slowConsumer, streamPeer, until } from './helpers.js'

const BACKEND = process.env['RINGIO_BACKEND']
const HWM = 64 * 1024
/**
 * Past the mark by at most the chunk whose write crossed it: a held source
 * hands out nothing more (a receive that completes meanwhile waits in its
 * backlog), on both backends.
 */
const SLACK = 64 * 1024
const SRC = pattern(1 << 20, 9)

const peer = (port: number, total: number, end = false) => streamPeer(port, SRC, total, { end })

/** Samples `f` every 5 ms until `stop` resolves; returns the largest value seen. */
async function peak(f: () => number, stop: Promise<unknown>): Promise<number> {
  let max = 0
  let done = false
  const fin = (): void => void (done = true)
  stop.then(fin, fin)
  while (!done) {
    max = Math.max(max, f())
    await sleep(5)
  }
  return Math.max(max, f())
}

describe(`backpressure (${BACKEND})`, () => {
  it('an echo server written the documented way stays bounded while its client does not read', async () => {
    let server: Connection | undefined
    let received = 0
    // The queue right after each write, before the kernel takes any of it: with 64 KiB
    // chunks the send can take most of one within microseconds, so a 5 ms sampler
    // alone may never see the mark the write that engaged the brake reached.
    let atWrite = 0
    const srv = await serve((c) => {
      server = c
      c.data$.subscribe({
        next: (b) => {
          received += b.length
          void c.write(b)
          atWrite = Math.max(atWrite, c.writableLength)
        },
        complete: () => void c.end(),
      })
    })
    const total = 48 << 20
    const p = peer(srv.port, total)
    try {
      await until(() => server !== undefined, 2000, 'the accept')
      // The client reads nothing: the server must stop reading, not queue 48 MiB.
      const stalled = sleep(1500)
      const max = Math.max(await peak(() => server!.writableLength, stalled), atWrite)
      expect(max).toBeGreaterThanOrEqual(HWM) // the brake did engage
      expect(max).toBeLessThanOrEqual(HWM + SLACK)
      expect(received).toBeLessThan(total / 2)
      p.sock.resume()
      await until(() => p.got() === total, 30_000, 'the whole echo')
      expect(p.bad()).toBe(-1)
      expect(server!.writableLength).toBe(0)
    } finally {
      p.sock.destroy()
      srv.stop()
    }
  }, 60_000)

  it('writeTo pipes 256 MiB into a slow consumer byte-exact with the queue bounded, and carries the end', async () => {
    // The slow consumer: node:net, pausing 20 ms after each MiB it reads.
    const consumer = await slowConsumer(SRC, 1 << 20, 20)
    let dest: Connection | undefined
    let piped: Promise<void> | undefined
    const srv = await serve((a) => {
      void connect({ port: consumer.port }).then((b) => {
        dest = b
        piped = new Promise<void>((resolve, reject) => a.data$.pipe(map((x) => x), writeTo(b)).subscribe({ complete: resolve, error: reject }))
      })
    })
    const total = 256 << 20
    const p = peer(srv.port, total, true)
    try {
      await until(() => dest !== undefined && piped !== undefined, 5000, 'the upstream connect')
      const max = await peak(() => dest!.writableLength, piped!)
      await consumer.ended
      expect(consumer.got()).toBe(total)
      expect(consumer.bad()).toBe(-1)
      expect(max).toBeLessThanOrEqual(HWM + SLACK)
    } finally {
      p.sock.destroy()
      dest?.close()
      srv.stop()
      consumer.close()
    }
  }, 120_000)

  it('read({ pace }) holds the receive while an async consumer works', async () => {
    let server: Connection | undefined
    let inWork = 0
    let maxInWork = 0
    let received = 0
    const srv = await serve((c) => {
      server = c
      let work: Promise<unknown> = Promise.resolve()
      c.read({ pace: () => work }).subscribe((b) => {
        received += b.length
        inWork++
        maxInWork = Math.max(maxInWork, inWork)
        work = sleep(2).then(() => inWork--)
      })
    })
    const total = 8 << 20
    const p = peer(srv.port, total)
    try {
      await until(() => received === total, 30_000, 'every byte through the paced reader')
      expect(maxInWork).toBe(1) // never a second chunk while one is in work
      expect(server).toBeDefined()
    } finally {
      p.sock.destroy()
      srv.stop()
    }
  }, 60_000)

  it('a framed channel whose client does not read replies pauses its receive', async () => {
    let ch: ReturnType<typeof lengthPrefixed> | undefined
    let frames = 0
    let atSend = 0
    const srv = await serve((c) => {
      ch = lengthPrefixed(c)
      ch.messages$.subscribe((m) => {
        frames++
        void ch!.send(m)
        atSend = Math.max(atSend, ch!.writableLength) // see the echo test: the sampler alone can miss the mark
      })
    })
    // 32 MiB of 4 KiB frames, replies never read.
    const frame = Buffer.alloc(4 + 4096, 7)
    frame.writeUInt32BE(4096, 0)
    const sock = nodeConnect({ host: '127.0.0.1', port: srv.port })
    sock.pause()
    let sent = 0
    const pump = (): void => {
      while (sent < 8192) {
        sent++
        if (!sock.write(frame)) return void sock.once('drain', pump)
      }
    }
    sock.once('connect', pump)
    try {
      await until(() => ch !== undefined, 2000, 'the accept')
      const max = Math.max(await peak(() => ch!.writableLength, sleep(1500)), atSend)
      expect(max).toBeGreaterThanOrEqual(HWM)
      expect(max).toBeLessThanOrEqual(HWM + SLACK)
      expect(frames).toBeLessThan(8192 / 2)
      let got = 0
      sock.on('data', (b: Buffer) => (got += b.length))
      sock.resume()
      await until(() => got === 8192 * frame.length, 30_000, 'every reply')
    } finally {
      sock.destroy()
      srv.stop()
    }
  }, 60_000)

  it('data$ never emits inside subscribe(): an unsubscribe from the first next works (replayed bytes)', async () => {
    let server: Connection | undefined
    const srv = await serve((c) => (server = c))
    const client = await connect({ port: srv.port })
    try {
      await until(() => server !== undefined, 2000, 'the accept')
      // Bytes read by a first subscriber that leaves: they are kept for the next one.
      const first = new Promise<void>((resolve) => {
        const s1 = server!.data$.subscribe(() => {
          s1.unsubscribe()
          resolve()
        })
      })
      await client.write('abc')
      await first
      await client.write('def')
      await sleep(50) // 'def' completes after the unsubscribe: it waits in the backlog
      const seen: string[] = []
      let threw: unknown = null
      try {
        const sub = server!.data$.subscribe((b) => {
          seen.push(b.toString())
          sub.unsubscribe()
        })
      } catch (err) {
        threw = err
      }
      await sleep(20)
      expect(threw).toBeNull()
      expect(seen.length).toBe(1)
      // Nothing was lost: what that subscriber did not take is there for the next.
      const rest = await new Promise<string>((resolve) => {
        let s = ''
        const sub = server!.data$.subscribe((b) => {
          s += b.toString()
          if (seen[0]! + s === 'def' || s.length >= 3) (sub.unsubscribe(), resolve(s))
        })
        setTimeout(() => (sub.unsubscribe(), resolve(s)), 200)
      })
      expect(seen[0]! + rest).toBe('def')
    } finally {
      client.close()
      server?.close()
      srv.stop()
    }
  })

  it('concatMap over data$ stays correct (bytes in order) with the write brake underneath', async () => {
    let got = ''
    const srv = await serve((c) => c.data$.pipe(concatMap((b) => from(c.write(b)))).subscribe({ complete: () => void c.end() }))
    const client = await connect({ port: srv.port })
    client.data$.subscribe((b) => (got += b.toString()))
    const text = Array.from({ length: 2000 }, (_, i) => `line ${i}\n`).join('')
    await client.write(text)
    await until(() => got.length === text.length, 5000, 'the echo')
    expect(got).toBe(text)
    client.close()
    srv.stop()
  })
})
