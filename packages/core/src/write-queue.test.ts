/**
 * The ordered write queue (DESIGN.md principle 2) over real fds — a Unix
 * socketpair and a pipe — through the environment's proactor, on whichever
 * backend the vitest project selects: call order across coalescing and
 * partial writes, the copy-threshold contract, backpressure (highWaterMark,
 * writable, drain$), end() and fail().
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { getProactor } from './backend.js'
import { IoError } from './errors.js'
import type { Proactor } from './proactor.js'
import { setIntOption } from './sys/socket.js'
import { WriteQueue, type WriteQueueOptions } from './write-queue.js'
import type { WriteData } from './write-data.js'
import { BACKEND, bytes, pipePair, socketPair as socketPairOf } from '../test/helpers/fds.js'
import { rng } from '../../../test/helpers/prng.js'
import { sleep, until, within } from '../../../test/helpers/waiting.js'

const SOCK_STREAM = 1
const SOL_SOCKET = 1
const SO_SNDBUF = 7
const SHUT_WR = 1

const opened: number[] = []
afterEach(async () => {
  const p = getProactor()
  await Promise.all(opened.splice(0).map((fd) => new Promise<void>((r) => p.start({ kind: 'close', fd }, { complete: () => r() }))))
  vi.restoreAllMocks()
})

const socketPair = (): [number, number] => socketPairOf(SOCK_STREAM, opened)
const pipe = (): [number, number] => pipePair(opened)

function setSndBuf(fd: number, n: number): void {
  setIntOption(fd, SOL_SOCKET, SO_SNDBUF, n)
}

/** Reads `fd` through the proactor until EOF (or `upTo` bytes); `pauseMs` before starting. */
async function readAll(p: Proactor, fd: number, opts: { kind: 'socket' | 'stream'; upTo?: number; pauseMs?: number } = { kind: 'socket' }): Promise<Buffer> {
  if (opts.pauseMs) await sleep(opts.pauseMs)
  const chunks: Buffer[] = []
  let total = 0
  for (;;) {
    const buf = Buffer.allocUnsafe(64 * 1024)
    const res = await new Promise<number>((resolve) =>
      opts.kind === 'socket' ? p.start({ kind: 'recv', fd, buf, flags: 0 }, { complete: (r) => resolve(r) }) : p.start({ kind: 'read', fd, buf, offset: -1 }, { complete: (r) => resolve(r) }),
    )
    if (res < 0) throw new IoError(-res, 'read', fd)
    if (res === 0) break
    chunks.push(buf.subarray(0, res))
    total += res
    if (opts.upTo !== undefined && total >= opts.upTo) break
  }
  return Buffer.concat(chunks)
}

function queue(fd: number, opts: Partial<WriteQueueOptions> = {}): WriteQueue {
  const p = getProactor()
  return new WriteQueue(p, fd, { kind: 'socket', onEnd: (c) => p.start({ kind: 'shutdown', fd, how: SHUT_WR }, c), ...opts })
}

/** Random writes of every form; returns the data argument and the bytes it stands for. */
function randomWrite(r: () => number, maxLen: number, seed: number): { data: WriteData; bytes: Buffer } {
  const len = 1 + Math.floor(r() * maxLen)
  const b = bytes(len, seed)
  const form = Math.floor(r() * 4)
  if (form === 0) return { data: b, bytes: b }
  if (form === 1) {
    const s = b.toString('latin1').replace(/[^\x20-\x7e]/g, 'x') // ASCII: one byte per char
    return { data: s, bytes: Buffer.from(s) }
  }
  if (form === 2) return { data: new Uint8Array(b), bytes: b }
  const cut1 = Math.floor(r() * len)
  const cut2 = cut1 + Math.floor(r() * (len - cut1))
  return { data: [b.subarray(0, cut1), b.subarray(cut1, cut2).toString('latin1').replace(/[^\x20-\x7e]/g, 'y'), b.subarray(cut2)], bytes: Buffer.concat([b.subarray(0, cut1), Buffer.from(b.subarray(cut1, cut2).toString('latin1').replace(/[^\x20-\x7e]/g, 'y')), b.subarray(cut2)]) }
}

describe(`WriteQueue (${BACKEND})`, () => {
  it('keeps call order across coalescing (maxIov 3, maxBytes 100) and interleaved producers', async () => {
    const p = getProactor()
    const [a, b] = socketPair()
    const iovs: number[] = []
    const writevBytes: number[] = []
    const origStart = Object.getPrototypeOf(p).start as Proactor['start']
    vi.spyOn(p, 'start').mockImplementation((op, c, o) => {
      if (op.kind === 'writev') {
        iovs.push(op.bufs.length)
        writevBytes.push(op.bufs.reduce((s, x) => s + x.length, 0))
      }
      return origStart.call(p, op, c, o)
    })
    const q = queue(a, { maxIov: 3, maxBytes: 100, copyThreshold: 16 })
    const expected: Buffer[] = []
    const settled: number[] = []
    const all: Promise<void>[] = []
    let seq = 0
    const issue = (r: () => number): Promise<void> => {
      const { data, bytes: bs } = randomWrite(r, 300, seq)
      const n = seq++
      expected.push(bs)
      const pr = q.write(data)
      void pr.then(() => settled.push(n))
      all.push(pr)
      return pr
    }
    const reading = readAll(p, b)
    await Promise.all(
      [0, 1, 2, 3].map(async (id) => {
        const r = rng(100 + id)
        for (let i = 0; i < 750; i++) {
          const w = issue(r)
          if (id === 0) await w
          else if (id === 1 && r() < 0.2) await new Promise((res) => setImmediate(res))
          else if (id === 2 && i % 25 === 24) await w
        }
      }),
    )
    await within(Promise.all(all), 10_000, 'every write')
    await within(q.end(), 5000, 'end()')
    const got = await within(reading, 10_000, 'the reader to see EOF')
    const want = Buffer.concat(expected)
    expect(got.length).toBe(want.length)
    expect(got.equals(want)).toBe(true)
    // Promises settle in call order.
    expect(settled).toEqual([...settled].sort((x, y) => x - y))
    expect(settled.length).toBe(3000)
    // Coalescing happened, and stayed within its bounds (maxBytes may be passed by the last buffer added).
    expect(iovs.length).toBeGreaterThan(0)
    expect(Math.max(...iovs)).toBeLessThanOrEqual(3)
    expect(Math.max(...iovs)).toBeGreaterThan(1)
    expect(Math.max(...writevBytes)).toBeLessThan(100 + 300)
  })

  it('resumes partial writes from the exact byte, even inside a coalesced writev', async () => {
    const p = getProactor()
    const [a, b] = socketPair()
    setSndBuf(a, 4096)
    const requested: number[] = []
    const origStart = Object.getPrototypeOf(p).start as Proactor['start']
    vi.spyOn(p, 'start').mockImplementation((op, c, o) => {
      if (op.kind === 'send') requested.push(op.buf.length)
      else if (op.kind === 'writev') requested.push(op.bufs.reduce((s, x) => s + x.length, 0))
      return origStart.call(p, op, c, o)
    })
    const q = queue(a, { maxIov: 8, maxBytes: 256 * 1024 })
    const results: number[] = []
    const complete = q.complete.bind(q)
    q.complete = (res: number): void => {
      results.push(res)
      complete(res)
    }
    const r = rng(7)
    const parts = Array.from({ length: 400 }, (_, i) => bytes(1 + Math.floor(r() * 20_000), 1000 + i))
    const writes = parts.map((x) => q.write(x))
    expect(q.writableLength).toBe(parts.reduce((s, x) => s + x.length, 0))
    const reading = readAll(p, b, { kind: 'socket', pauseMs: 50 })
    await within(Promise.all(writes), 15_000, 'every write')
    await within(q.end(), 5000, 'end()')
    const got = await within(reading, 10_000, 'EOF')
    expect(got.equals(Buffer.concat(parts))).toBe(true)
    // Short completions happened (res < bytes asked) and the queue resumed after them.
    expect(results.length).toBe(requested.length)
    const short = results.filter((res, i) => res >= 0 && res < requested[i]!).length
    expect(short).toBeGreaterThan(0)
  })

  it('copies a buffer of at most copyThreshold bytes at call time; a larger one is referenced (documented)', async () => {
    const p = getProactor()
    const [a, b] = socketPair()
    const q = queue(a, { copyThreshold: 16 })
    const small = Buffer.from('0123456789abcdef') // 16 bytes: copied
    const large = Buffer.from('ABCDEFGHIJKLMNOPQ') // 17 bytes: referenced
    const inArray = Buffer.from('small-in-array') // copied inside an array too
    const w1 = q.write(small)
    const w2 = q.write(large)
    const w3 = q.write([inArray])
    // Reuse every buffer at once, before anything was submitted.
    small.fill(0x21)
    large.fill(0x2a)
    inArray.fill(0x23)
    await within(Promise.all([w1, w2, w3]), 5000, 'the writes')
    await q.end()
    const got = (await readAll(p, b)).toString('latin1')
    // The small ones went as they were at call time; the large one as it was when sent: the
    // caller must not touch a buffer above copyThreshold until its Promise settles.
    expect(got).toBe('0123456789abcdef' + '*'.repeat(17) + 'small-in-array')
  })

  it('the default copyThreshold is 4096: 4096 bytes are copied, 4097 referenced', async () => {
    const p = getProactor()
    const [a, b] = socketPair()
    const q = queue(a)
    const at = Buffer.alloc(4096, 0x61)
    const over = Buffer.alloc(4097, 0x62)
    const w = [q.write(at), q.write(over)]
    at.fill(0x7a)
    over.fill(0x79)
    await Promise.all(w)
    await q.end()
    const got = await readAll(p, b)
    expect(got.subarray(0, 4096).every((x) => x === 0x61)).toBe(true)
    expect(got.subarray(4096).every((x) => x === 0x79)).toBe(true)
  })

  it('tracks writableLength against highWaterMark: writable goes false, drain$ emits once when drained', async () => {
    const p = getProactor()
    const [a, b] = socketPair()
    const q = queue(a, { highWaterMark: 1000 })
    let drains = 0
    q.drain$.subscribe(() => drains++)
    expect(q.writable).toBe(true)
    expect(q.writableLength).toBe(0)
    const w1 = q.write(Buffer.alloc(600, 1))
    expect(q.writableLength).toBe(600)
    expect(q.writable).toBe(true)
    const w2 = q.write(Buffer.alloc(600, 2))
    const w3 = q.write(Buffer.alloc(600, 3))
    expect(q.writableLength).toBe(1800)
    expect(q.writable).toBe(false)
    const reading = readAll(p, b, { kind: 'socket', upTo: 1800 + 10 + 3000 })
    await Promise.all([w1, w2, w3])
    await until(() => drains > 0, 2000, 'drain$')
    expect(q.writableLength).toBe(0)
    expect(q.writable).toBe(true)
    await sleep(20)
    expect(drains).toBe(1)
    // Below the mark: no drain.
    await q.write(Buffer.alloc(10, 4))
    await sleep(20)
    expect(drains).toBe(1)
    // Above it again: one more.
    const ws = [q.write(Buffer.alloc(1500, 5)), q.write(Buffer.alloc(1500, 6))]
    expect(q.writable).toBe(false)
    await Promise.all(ws)
    await until(() => drains === 2, 2000, 'the second drain$')
    await sleep(20)
    expect(drains).toBe(2)
    expect((await reading).length).toBe(1800 + 10 + 3000)
  })

  it('drain$ waits for the slow reader: it fires only once the kernel took everything', async () => {
    const p = getProactor()
    const [a, b] = socketPair()
    setSndBuf(a, 4096)
    const q = queue(a, { highWaterMark: 64 * 1024 })
    let drained = false
    q.drain$.subscribe(() => (drained = true))
    const big = bytes(1 << 20, 3)
    const w = q.write(big)
    await sleep(50)
    expect(drained).toBe(false) // nobody reads: the queue is stuck above the mark
    expect(q.writableLength).toBeGreaterThan(0)
    expect(q.writable).toBe(false)
    const got = readAll(p, b, { kind: 'socket', upTo: big.length })
    await within(w, 10_000, 'the write')
    await until(() => drained, 2000, 'drain$')
    expect((await got).equals(big)).toBe(true)
  })

  it('fail() rejects every pending write, cancels the one in flight, and rejects later writes and end()', async () => {
    const p = getProactor()
    const [a] = socketPair()
    setSndBuf(a, 4096)
    const before = p.pending
    const q = queue(a)
    const writes = Array.from({ length: 5 }, (_, i) => q.write(bytes(256 * 1024, i)))
    await sleep(30) // the first send is in flight, blocked on the full socket
    expect(p.pending).toBeGreaterThan(before)
    let drainDone = false
    q.drain$.subscribe({ complete: () => (drainDone = true) })
    q.fail()
    const results = await within(Promise.allSettled(writes), 2000, 'the pending writes to reject')
    for (const x of results) {
      expect(x.status).toBe('rejected')
      expect((x as PromiseRejectedResult).reason).toMatchObject({ name: 'IoError', code: 'ECANCELED' })
    }
    expect(q.writableLength).toBe(0)
    expect(q.closed).toBe(true)
    expect(drainDone).toBe(true)
    await expect(q.write('later')).rejects.toMatchObject({ code: 'ECANCELED' })
    await expect(q.end()).rejects.toMatchObject({ code: 'ECANCELED' })
    // The in-flight send was cancelled in the kernel: no operation left behind.
    await until(() => p.pending === before, 2000, 'the cancelled send to complete')
  })

  it('small writes of one turn share a chunk and its Promise (after the first, sized exactly); a larger write in between closes the chunk, so order holds', async () => {
    const p = getProactor()
    const [a, b] = socketPair()
    const entries: number[][] = []
    const origStart = Object.getPrototypeOf(p).start as Proactor['start']
    vi.spyOn(p, 'start').mockImplementation((op, c, o) => {
      // The queue reuses its iov array once the write completed: copy the lengths now.
      if (op.kind === 'writev') entries.push(op.bufs.map((x) => x.length))
      return origStart.call(p, op, c, o)
    })
    const q = queue(a)
    const big = bytes(8000, 1)
    const reused = Buffer.from('cd')
    // The first small write gets a chunk of its own size (a lone write wastes nothing); the next opens a larger one.
    const w = [q.write('a'), q.write('b'), q.write(reused), q.write(big), q.write('éf'), q.write(['g', 'h']), q.write(['i', big])]
    reused.fill(0x21) // copied at call time: the chunk keeps 'cd'
    expect(w[1]).not.toBe(w[0])
    expect(w[2]).toBe(w[1])
    expect(w[3]).not.toBe(w[2])
    expect(w[4]).not.toBe(w[3])
    expect(w[5]).toBe(w[4]) // an array of small parts joins the chunk part by part
    expect(w[6]).not.toBe(w[5]) // one with a large part takes the general path, after the chunk
    const reading = readAll(p, b)
    await within(Promise.all(w), 2000, 'the writes')
    await q.end()
    expect((await reading).equals(Buffer.concat([Buffer.from('abcd'), big, Buffer.from('éfgh'), Buffer.from('i'), big]))).toBe(true)
    expect(entries[0]).toEqual([1, 3, 8000, 5, 1, 8000]) // 'éf' is 3 bytes of UTF-8
  })

  it('a failure rejects every write that shares the chunk', async () => {
    const [a] = socketPair()
    setSndBuf(a, 4096)
    const q = queue(a)
    void q.write(bytes(256 * 1024, 9)).catch(() => {}) // keeps the socket busy: the small writes wait in their chunk
    const small = [q.write('w'), q.write('x'), q.write('y'), q.write('z')]
    expect(small[3]).toBe(small[1]) // x, y, z share a chunk
    q.fail()
    for (const x of await Promise.allSettled(small)) expect(x).toMatchObject({ status: 'rejected', reason: { code: 'ECANCELED' } })
  })

  it('fail(err) rejects with the given error', async () => {
    const [a] = socketPair()
    setSndBuf(a, 4096)
    const q = queue(a)
    const writes = [q.write(bytes(512 * 1024, 1)), q.write('tail')]
    await sleep(20)
    const err = new IoError(104, 'send', a)
    q.fail(err)
    const results = await Promise.allSettled(writes)
    for (const x of results) expect((x as PromiseRejectedResult).reason).toBe(err)
  })

  it('rejects a write after end() with EPIPE and throws TypeError at the call site for bad data', async () => {
    const p = getProactor()
    const [a, b] = socketPair()
    const q = queue(a)
    const w = q.write('ok')
    expect(() => q.write(42 as never)).toThrow(TypeError)
    expect(() => q.write(42 as never)).toThrow(/data/)
    expect(() => q.write(['x', null] as never)).toThrow(/data\[1\]/)
    expect(q.writableLength).toBe(2)
    const ended = q.end()
    await expect(q.write('late')).rejects.toMatchObject({ name: 'IoError', code: 'EPIPE' })
    await w
    await ended
    expect((await readAll(p, b)).toString()).toBe('ok')
  })

  it("kind 'stream' keeps order on a pipe (write at the fd's position)", async () => {
    const p = getProactor()
    const [rd, wr] = pipe()
    const q = new WriteQueue(p, wr, { kind: 'stream', maxIov: 4, maxBytes: 4096 })
    const r = rng(11)
    const expected: Buffer[] = []
    const writes: Promise<void>[] = []
    for (let i = 0; i < 500; i++) {
      const { data, bytes: bs } = randomWrite(r, 2000, 5000 + i)
      expected.push(bs)
      writes.push(q.write(data))
      if (i % 50 === 49) await new Promise((res) => setImmediate(res))
    }
    const want = Buffer.concat(expected)
    const reading = readAll(p, rd, { kind: 'stream', upTo: want.length, pauseMs: 20 })
    await within(Promise.all(writes), 10_000, 'the pipe writes')
    await q.end() // no onEnd: resolves once flushed
    const got = await within(reading, 10_000, 'the pipe reader')
    expect(got.equals(want)).toBe(true)
  })
})
