/**
 * The message queue over a real Unix SOCK_SEQPACKET socketpair, on whichever
 * backend the vitest project selects: the send window (slots exclusive while
 * in flight, never more than `window` sends with the kernel), strict order
 * with a window of 1 while the peer's buffer is full, whole messages, fail()
 * with sends parked in the kernel, and per-message errors.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { getProactor } from './backend.js'
import { IoError } from './errors.js'
import { MessageQueue } from './message-queue.js'
import type { Completion, Proactor } from './proactor.js'
import * as sys from './poll/sys.js'
import { setIntOption } from './sys/socket.js'
import { BACKEND, socketPair } from '../test/helpers/fds.js'
import { sleep } from '../../../test/helpers/waiting.js'

const SOCK_SEQPACKET = 5
const SOL_SOCKET = 1
const SO_SNDBUF = 7
const MSG_DONTWAIT = 0x40
const MSG_NOSIGNAL = 0x4000
const open: number[] = []
const seqpacketPair = (): [number, number] => socketPair(SOCK_SEQPACKET, open)

afterEach(() => {
  for (const fd of open.splice(0)) sys.close(fd)
})

/** Message i: its index in 4 bytes, then `i % 1500` bytes of (i & 0xff); message 0 is 4 bytes. */
function message(i: number): Buffer {
  const b = Buffer.alloc(4 + (i % 1500), i & 0xff)
  b.writeUInt32BE(i, 0)
  return b
}

/** Reads records from `fd` (MSG_DONTWAIT, pausing when empty) until `n` arrived or 10 s passed. */
async function readRecords(fd: number, n: number): Promise<Buffer[]> {
  const got: Buffer[] = []
  const buf = Buffer.alloc(65536)
  const end = Date.now() + 10_000
  while (got.length < n && Date.now() < end) {
    const r = sys.recv(fd, buf, buf.length, MSG_DONTWAIT)
    if (r >= 0) got.push(Buffer.from(buf.subarray(0, r)))
    else await sleep(1) // empty: let the proactor run
  }
  return got
}

/** A queue over `fd` whose start hook checks slot exclusivity and counts sends in flight. */
function tracked(p: Proactor, fd: number, window: number, fatal?: (errno: number) => boolean) {
  const busy = new Uint8Array(window)
  const stats = { maxInFlight: 0, inFlight: 0, slotClash: false }
  const q = new MessageQueue<Buffer>(p, {
    op: 'sendmsg',
    handle: fd,
    window,
    fatal,
    start: (m, c: Completion, slot) => {
      if (busy[slot] === 1) stats.slotClash = true
      busy[slot] = 1
      stats.maxInFlight = Math.max(stats.maxInFlight, ++stats.inFlight)
      return p.start({ kind: 'send', fd, buf: m, flags: MSG_NOSIGNAL }, {
        complete: (res, flags) => {
          busy[slot] = 0
          stats.inFlight--
          c.complete(res, flags)
        },
      })
    },
  })
  return { q, stats }
}

describe(`MessageQueue (${BACKEND})`, () => {
  it('keeps up to `window` sends in flight, each with a slot of its own, and every message arrives whole', async () => {
    const p = getProactor()
    const [a, b] = seqpacketPair()
    const { q, stats } = tracked(p, a, 8)
    const N = 600 // ~450 KB: more than the peer buffer holds, so sends park in the kernel
    const sent = Array.from({ length: N }, (_, i) => q.enqueue(message(i)))
    expect(q.size).toBe(N)
    const got = await readRecords(b, N)
    await Promise.all(sent)
    expect(got.length).toBe(N)
    const seen = new Set<number>()
    for (const r of got) {
      const i = r.readUInt32BE(0)
      expect(r.equals(message(i))).toBe(true)
      seen.add(i)
    }
    expect(seen.size).toBe(N)
    expect(stats.slotClash).toBe(false)
    expect(stats.maxInFlight).toBeLessThanOrEqual(8)
    expect(stats.maxInFlight).toBeGreaterThan(1)
    expect(q.size).toBe(0)
    expect(q.inFlight).toBe(0)
  })

  it('with a window of 1 keeps strict order while the peer buffer is full', async () => {
    const p = getProactor()
    const [a, b] = seqpacketPair()
    const { q, stats } = tracked(p, a, 1)
    const N = 600
    const sent = Array.from({ length: N }, (_, i) => q.enqueue(message(i)))
    const got = await readRecords(b, N)
    await Promise.all(sent)
    expect(got.map((r) => r.readUInt32BE(0))).toEqual(Array.from({ length: N }, (_, i) => i))
    expect(stats.maxInFlight).toBe(1)
  })

  it('fail() rejects waiting and parked messages, cancels the kernel sends, then runs end()', async () => {
    const p = getProactor()
    const [a] = seqpacketPair() // the peer never reads
    const before = p.pending
    const { q } = tracked(p, a, 4)
    const settled = { ok: 0, err: [] as unknown[] }
    const N = 1000
    const all = Array.from({ length: N }, (_, i) =>
      q.enqueue(Buffer.alloc(1024, i)).then(
        () => void settled.ok++,
        (e: unknown) => void settled.err.push(e),
      ),
    )
    const end = Date.now() + 5000
    while (q.inFlight < 4 && Date.now() < end) await sleep(1)
    await sleep(20)
    expect(q.inFlight).toBe(4) // parked on the full peer buffer
    let ended = false
    q.end(() => (ended = true))
    q.fail()
    await Promise.all(all)
    expect(settled.ok + settled.err.length).toBe(N)
    expect(settled.err.length).toBeGreaterThanOrEqual(N - settled.ok)
    for (const e of settled.err) expect(e).toMatchObject({ name: 'IoError', code: 'ECANCELED' })
    while (!ended && Date.now() < end) await sleep(1)
    expect(ended).toBe(true)
    expect(q.inFlight).toBe(0)
    expect(p.pending).toBe(before)
    await expect(q.enqueue(Buffer.from('x'))).rejects.toMatchObject({ code: 'ECANCELED' })
  })

  it('a non-fatal error rejects only its own message; the ones around it are sent', async () => {
    const p = getProactor()
    const [a, b] = seqpacketPair()
    setIntOption(a, SOL_SOCKET, SO_SNDBUF, 4096)
    const { q } = tracked(p, a, 4, (errno) => errno !== 90 /* EMSGSIZE */)
    const r = await Promise.allSettled([q.enqueue(Buffer.from('one')), q.enqueue(Buffer.alloc(256 * 1024)), q.enqueue(Buffer.from('three'))])
    expect(r[0].status).toBe('fulfilled')
    expect(r[1]).toMatchObject({ status: 'rejected', reason: { code: 'EMSGSIZE', op: 'sendmsg' } })
    expect((r[1] as PromiseRejectedResult).reason).toBeInstanceOf(IoError)
    expect(r[2].status).toBe('fulfilled')
    const got = await readRecords(b, 2)
    expect(got.map((x) => x.toString())).toEqual(['one', 'three'])
  })

  it('rejects a bad window at construction', () => {
    const p = getProactor()
    const start = (): number => 0
    expect(() => new MessageQueue(p, { op: 'send', start, window: 0 })).toThrow(RangeError)
    expect(() => new MessageQueue(p, { op: 'send', start, window: 1.5 })).toThrow(RangeError)
  })
})
