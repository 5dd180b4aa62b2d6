/**
 * Issue 4, section 3 — ordering (DESIGN.md principle 2): writes reach the peer
 * whole and in call order, from any number of producers, across partial
 * writes. Real sockets on 127.0.0.1, both backends.
 */
import type { Subscription } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { getProactor, sockets } from '@ringio/core/transport'
import { connect, type Connection } from '@ringio/net'
import { collect, pair, pattern, rng, serve, sleep, SO_RCVBUF, SO_SNDBUF, SOL_SOCKET, until } from './helpers.js'

const BACKEND = process.env['RINGIO_BACKEND']
const MSG_NOSIGNAL = 0x4000

describe(`ordering (${BACKEND})`, () => {
  it('delivers 100 writes issued in one data callback, in order', async () => {
    const lines = Array.from({ length: 100 }, (_, i) => `line ${i} ${'.'.repeat(i)}\n`)
    const srv = await serve((c) =>
      c.data$.subscribe({
        next: (b) => {
          for (const l of lines) void c.write(l)
          void c.write(b)
        },
        complete: () => void c.end(),
      }),
    )
    const conn = await connect({ port: srv.port })
    const got = collect(conn.data$)
    await conn.write('x\n')
    await sleep(50)
    await conn.end()
    expect((await got).toString()).toBe(lines.join('') + 'x\n')
    srv.stop()
  })

  it('a 4 MiB send to a peer that does not read completes short (the case the queue resumes from)', async () => {
    const { client, server, stop } = await pair()
    try {
      sockets.setIntOption(client.fd, SOL_SOCKET, SO_RCVBUF, 16384)
      const big = Buffer.alloc(4 << 20, 0x5a)
      const res = await new Promise<number>((resolve) => getProactor().start({ kind: 'send', fd: server.fd, buf: big, flags: MSG_NOSIGNAL }, { complete: (r) => resolve(r) }))
      expect(res).toBeGreaterThan(0)
      expect(res).toBeLessThan(big.length)
    } finally {
      stop()
    }
  })

  it('resumes a partial write at the exact byte: 4 MiB + tail + 4 MiB to a paused reader arrive byte-exact', async () => {
    const { client, server, stop } = await pair()
    try {
      sockets.setIntOption(client.fd, SOL_SOCKET, SO_RCVBUF, 16384)
      sockets.setIntOption(server.fd, SOL_SOCKET, SO_SNDBUF, 256 * 1024) // well below 4 MiB, whatever the autotuning
      const a = pattern(4 << 20, 11)
      const tail = Buffer.from('--tail--')
      const b = pattern(4 << 20, 12)
      const accepted = a.length + tail.length + b.length
      const pa = server.write(a)
      const pt = server.write(tail)
      const pb = server.write(b)
      expect(server.writableLength).toBe(accepted)
      // Nobody reads: the first send must stop short inside `a` (4 MiB > the socket buffers).
      let taken = 0
      await until(() => {
        taken = accepted - server.writableLength
        return taken > 0
      }, 5000, 'the first send completion')
      await sleep(100)
      taken = accepted - server.writableLength
      expect(taken).toBeGreaterThan(0)
      expect(taken).toBeLessThan(a.length) // a partial write of `a`: the rest is still queued
      let settledA = false
      void pa.then(() => (settledA = true))
      await sleep(10)
      expect(settledA).toBe(false)
      const got = collect(client.data$)
      await Promise.all([pa, pt, pb])
      await server.end()
      const all = await got
      expect(all.length).toBe(accepted)
      expect(all.subarray(0, a.length).equals(a)).toBe(true)
      expect(all.subarray(a.length, a.length + tail.length).equals(tail)).toBe(true)
      expect(all.subarray(a.length + tail.length).equals(b)).toBe(true)
    } finally {
      stop()
    }
  })

  it('20 000 writes of 1 B..256 KiB from 8 interleaved producers reach a slow, pausing reader byte-exact in call order', async () => {
    const t0 = Date.now()
    const { client, server, stop } = await pair()
    try {
      await orderingStress(client, server)
    } finally {
      stop()
    }
    // Keep an eye on the budget (the whole net suite should stay under a minute per backend).
    console.log(`[${BACKEND}] 20k-write stress took ${Date.now() - t0} ms`)
  }, 60_000)
})

// ---------------------------------------------------------------------------------------------
// The 20 000-write stress.

/** How a write's bytes are handed to write(): one Buffer, [header, pooled slice], [header, string], a bare string. */
const enum Form {
  Buffer = 0,
  Slices = 1,
  HeaderString = 2,
  String = 3,
}

interface Call {
  seq: number
  producer: number
  index: number
  len: number
  off: number
  form: Form
}

const HDR = 16
const MAX = 256 * 1024
const PAT = pattern(1 << 20, 7) // binary body source (1 MiB)
const PAT_BIG = Buffer.concat([PAT, PAT.subarray(0, MAX)]) // so that off + len never runs past the end
const ASCII = (() => {
  const b = Buffer.allocUnsafe(PAT_BIG.length)
  for (let i = 0; i < b.length; i++) b[i] = 0x61 + (PAT_BIG[i]! % 26)
  return b
})()
const ASCII_STR = ASCII.toString('latin1')

/** The header each write of >= 16 bytes starts with: seq, length, producer, form, index. */
function headerOf(c: Call): Buffer {
  const h = Buffer.allocUnsafe(HDR)
  h.writeUInt32LE(c.seq, 0)
  h.writeUInt32LE(c.len, 4)
  h.writeUInt16LE(c.producer, 8)
  h.writeUInt16LE(c.form, 10)
  h.writeUInt32LE(c.index, 12)
  return h
}

function sourceOf(c: Call): Buffer {
  return c.form === Form.HeaderString || c.form === Form.String ? ASCII : PAT_BIG
}

/** The argument to write() for a call (the bytes are headerOf(c) + source[off, off + len - 16], or source[off, off + len]). */
function payloadOf(c: Call): Buffer | (Buffer | string)[] | string {
  if (c.len < HDR) {
    return c.form === Form.String ? ASCII_STR.slice(c.off, c.off + c.len) : Buffer.from(PAT_BIG.subarray(c.off, c.off + c.len))
  }
  const h = headerOf(c)
  const bodyLen = c.len - HDR
  switch (c.form) {
    case Form.Buffer:
      return Buffer.concat([h, PAT_BIG.subarray(c.off, c.off + bodyLen)])
    case Form.Slices:
      return [h, PAT_BIG.subarray(c.off, c.off + bodyLen)] // large slices are referenced, never mutated
    default:
      return [h, ASCII_STR.slice(c.off, c.off + bodyLen)]
  }
}

/** Checks the received byte stream against the recorded call order, incrementally. */
class Verifier {
  private ci = 0
  private pos = 0
  offset = 0
  failure: string | null = null

  constructor(private readonly calls: Call[]) {}

  get complete(): boolean {
    return this.ci === this.calls.length && this.pos === 0
  }

  get writesSeen(): number {
    return this.ci
  }

  feed(chunk: Buffer): void {
    let p = 0
    while (p < chunk.length && this.failure === null) {
      const c = this.calls[this.ci]
      if (c === undefined) {
        this.fail(chunk, p, `${chunk.length - p} bytes after the end of the last write issued`)
        return
      }
      const hdrLen = c.len >= HDR ? HDR : 0
      let n: number
      let expected: Buffer
      if (this.pos < hdrLen) {
        n = Math.min(hdrLen - this.pos, chunk.length - p)
        expected = headerOf(c).subarray(this.pos, this.pos + n)
      } else {
        n = Math.min(c.len - this.pos, chunk.length - p)
        const start = c.off + this.pos - hdrLen
        expected = sourceOf(c).subarray(start, start + n)
      }
      if (!chunk.subarray(p, p + n).equals(expected)) {
        this.fail(chunk, p, `mismatch inside write seq ${c.seq} (producer ${c.producer} #${c.index}, ${c.len} B, form ${c.form}) at byte ${this.pos} of it`)
        return
      }
      p += n
      this.pos += n
      this.offset += n
      if (this.pos === c.len) {
        this.ci++
        this.pos = 0
      }
    }
  }

  private fail(chunk: Buffer, p: number, what: string): void {
    const found = chunk.subarray(p, p + HDR)
    let hint = ''
    if (found.length === HDR) {
      const seq = found.readUInt32LE(0)
      const len = found.readUInt32LE(4)
      const other = this.calls[seq]
      if (other !== undefined && other.len === len) hint = `; the bytes there are the header of write seq ${seq} (producer ${other.producer} #${other.index})`
    }
    this.failure = `stream offset ${this.offset}: ${what}; found ${found.toString('hex')}${hint}`
  }
}

function logUniform(r: () => number, hi: number): number {
  return Math.max(1, Math.min(hi, Math.floor(Math.exp(r() * Math.log(hi + 1)))))
}

const EDGES = [1, 15, 16, 17, 4095, 4096, 4097, 65536, MAX - 1, MAX]

async function orderingStress(client: Connection, server: Connection): Promise<void> {
  const PRODUCERS = 8
  const PER = 2500 // 8 x 2500 = 20 000 writes
  const calls: Call[] = []
  const cumEnd: number[] = [] // byte offset in the stream at which each write ends
  const promises: Promise<void>[] = []
  let accepted = 0
  let resolvedUpTo = -1
  let orderViolation: string | null = null

  // The reader is slow: a small receive buffer (16 KiB; 4 KiB makes loopback TCP crawl at
  // ~40 KB/s on the persist timer, with any program) and reads paused every few MiB.
  sockets.setIntOption(client.fd, SOL_SOCKET, SO_RCVBUF, 16384)

  const issue = (producer: number, index: number, r: () => number): Promise<void> => {
    // Log-uniform 1 B..256 KiB (mean ~21 KiB: ~420 MiB in all), plus the edges now and then.
    const len = r() < 0.01 ? EDGES[Math.floor(r() * EDGES.length)]! : logUniform(r, MAX)
    const form: Form = len < HDR ? (r() < 0.5 ? Form.Buffer : Form.String) : (Math.floor(r() * 3) as Form)
    const c: Call = { seq: calls.length, producer, index, len, off: Math.floor(r() * (1 << 20)), form }
    const data = payloadOf(c)
    // Call order is recorded in the same synchronous step as the call.
    calls.push(c)
    accepted += len
    cumEnd.push(accepted)
    const p = server.write(data)
    promises.push(p)
    void p.then(() => {
      // Write Promises settle in call order, and only once the kernel took every byte up to there.
      if (c.seq !== resolvedUpTo + 1 && orderViolation === null) orderViolation = `write seq ${c.seq} resolved after seq ${resolvedUpTo}`
      resolvedUpTo = c.seq
      if (accepted - server.writableLength < cumEnd[c.seq]! && orderViolation === null) {
        orderViolation = `write seq ${c.seq} resolved with ${server.writableLength} B still queued (kernel took ${accepted - server.writableLength} < ${cumEnd[c.seq]})`
      }
    })
    return p
  }

  const producer = async (id: number): Promise<void> => {
    const r = rng(0x9e3779b9 ^ id)
    const lag: Promise<void>[] = []
    let burst = 0
    for (let i = 0; i < PER; i++) {
      const p = issue(id, i, r)
      switch (id % 4) {
        case 0: // awaits each write
          await p
          break
        case 1: // fire-and-forget, yielding to the loop now and then
          if (r() < 0.05) await new Promise((res) => setImmediate(res))
          else if (r() < 0.01) await sleep(1)
          break
        case 2: // bursts issued in one go, then awaits the burst's last write
          if (burst-- <= 0) {
            await p
            burst = Math.floor(r() * 30)
          }
          break
        default: // keeps 8 writes in flight: awaits the one issued 8 calls earlier
          lag.push(p)
          if (lag.length > 8) await lag.shift()
      }
    }
    await Promise.all(lag)
  }

  // Partial-write evidence, measured from outside the queue: `accepted - writableLength` is what
  // the kernel took so far. A full send/writev always ends on a buffer boundary (the queue never
  // splits a buffer when coalescing); a value strictly inside one buffer is a short completion.
  let partials = 0
  let samples = 0
  const inside = (taken: number): boolean => {
    if (taken <= 0 || taken >= accepted) return false
    let lo = 0
    let hi = cumEnd.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (cumEnd[mid]! < taken) lo = mid + 1
      else hi = mid
    }
    if (cumEnd[lo] === taken) return false // a write boundary
    const start = lo === 0 ? 0 : cumEnd[lo - 1]!
    const c = calls[lo]!
    // The header and the body of an array write are two buffers: their boundary is not evidence.
    if ((c.form === Form.Slices || c.form === Form.HeaderString) && c.len >= HDR && taken === start + HDR) return false
    return true
  }
  const sampler = setInterval(() => {
    samples++
    if (inside(accepted - server.writableLength)) partials++
  }, 1)

  // The reader: verifies incrementally, pauses (unsubscribes) every ~12 MiB for 100 ms.
  const v = new Verifier(calls)
  const pausedQueued: number[] = []
  let pauses = 0
  let nextPauseAt = 4 << 20
  const readAll = new Promise<void>((resolve, reject) => {
    const pause = (sub: Subscription): void => {
      sub.unsubscribe()
      setTimeout(() => {
        pausedQueued.push(server.writableLength)
        if (inside(accepted - server.writableLength)) partials++
        subscribe()
      }, 100)
    }
    const subscribe = (): void => {
      let sub: Subscription | undefined
      let stop = false // chunks replayed inside subscribe() come before `sub` exists
      sub = client.data$.subscribe({
        next: (b) => {
          if (v.failure !== null) return
          v.feed(b)
          if (v.failure !== null) {
            reject(new Error(v.failure))
            sub?.unsubscribe()
            return
          }
          if (!stop && v.offset >= nextPauseAt && pauses < 10) {
            pauses++
            nextPauseAt = v.offset + (12 << 20)
            stop = true
            if (sub !== undefined) pause(sub)
          }
        },
        complete: () => (v.complete ? resolve() : reject(new Error(`EOF after ${v.writesSeen}/${calls.length} writes, ${v.offset}/${accepted} bytes`))),
        error: reject,
      })
      if (stop && !sub.closed) pause(sub)
    }
    subscribe()
  })

  // A verification failure stops the reader: fail at once instead of waiting for writes that cannot drain.
  const guard = <T>(p: Promise<T>): Promise<T> => Promise.race([p, readAll.then(() => p)])
  try {
    const producing = Array.from({ length: PRODUCERS }, (_, id) => producer(id))
    for (const p of producing) p.catch(() => {}) // after a failure the close rejects what they await
    await guard(Promise.all(producing))
    expect(calls.length).toBe(PRODUCERS * PER)
    const results = await guard(Promise.allSettled(promises))
    const rejected = results.filter((x) => x.status === 'rejected')
    expect(rejected.map((x) => String((x as PromiseRejectedResult).reason)).slice(0, 3)).toEqual([])
    await guard(server.end())
    await readAll
  } finally {
    clearInterval(sampler)
  }

  // Interleaving happened: producers' writes alternate in the call order.
  let switches = 0
  for (let i = 1; i < calls.length; i++) if (calls[i]!.producer !== calls[i - 1]!.producer) switches++
  console.log(
    `[${BACKEND}] ${calls.length} writes, ${(accepted / 1048576).toFixed(1)} MiB, ${switches} producer switches, ` +
      `${pauses} pauses (queued while paused: ${pausedQueued.map((q) => (q / 1024).toFixed(0) + 'K').join(' ')}), ` +
      `${partials}/${samples} samples inside a buffer`,
  )
  expect(orderViolation).toBe(null)
  expect(v.failure).toBe(null)
  expect(v.complete).toBe(true)
  expect(v.offset).toBe(accepted)
  expect(switches).toBeGreaterThan(1000)
  expect(pauses).toBeGreaterThanOrEqual(5)
  // The reader's pauses backed the writes up into the queue ...
  expect(Math.max(...pausedQueued)).toBeGreaterThan(0)
  // ... and the kernel took some writes in pieces: partial writes happened and were resumed.
  expect(partials).toBeGreaterThan(0)
  // Far more bytes than the socket buffers can hold went through.
  expect(accepted).toBeGreaterThan(256 << 20)
}
