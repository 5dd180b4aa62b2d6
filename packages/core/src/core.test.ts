/**
 * The core contract, on whichever backend the vitest project selects
 * (`RINGIO_BACKEND=uring` or `poll`): round trips, timers, cancellation,
 * errors, bad arguments, readiness, positional file I/O and the shared
 * buffer pool — all through the public API, against the real kernel.
 */
import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { getEventListeners } from 'node:events'
import { connect as netConnect } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { match, P } from 'ts-pattern'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildOnce } from '../../../test/helpers/build-once.js'
import {
  backend,
  close,
  closeProactor,
  getProactor,
  interval,
  IoError,
  IORING_CQE_BUFFER_SHIFT,
  IORING_CQE_F_BUFFER,
  IORING_CQE_F_MORE,
  addressOf as addressOfBuf,
  nop,
  poll,
  PollEvents,
  read,
  readv,
  parseRecvmsgOut,
  sockets,
  timer,
  write,
  writev,
  type Completion,
} from './index.js'

const BACKEND = process.env['RINGIO_BACKEND'] === 'poll' ? 'poll' : 'uring'
const ENOBUFS = 105
/** An fd number no process has open (far above RLIMIT_NOFILE): every syscall on it is EBADF. */
const BAD_FD = 2 ** 30

let dir = ''
beforeAll(() => {
  dir = mkdtempSync('/var/tmp/ringio-core-')
})
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

/** A FIFO opened O_RDWR: the open never blocks, and the fd is both ends (blocking, as a shared pipe would be). */
function fifo(name: string): number {
  const path = join(dir, name)
  execFileSync('mkfifo', [path])
  return openSync(path, 'r+')
}

/** Resolves when `pred` holds (checked every millisecond or so); rejects after `ms`. */
async function until(pred: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(1)
  }
}

/** Settles `p` or reports that it is still pending after `ms`. */
async function settleWithin<T>(p: Promise<T>, ms: number): Promise<{ state: 'fulfilled'; value: T } | { state: 'rejected'; reason: unknown } | { state: 'pending' }> {
  let t: NodeJS.Timeout | undefined
  const pending = new Promise<{ state: 'pending' }>((r) => (t = setTimeout(() => r({ state: 'pending' }), ms)))
  try {
    return await Promise.race([
      p.then((value) => ({ state: 'fulfilled' as const, value }), (reason: unknown) => ({ state: 'rejected' as const, reason })),
      pending,
    ])
  } finally {
    clearTimeout(t)
  }
}

describe(`core on the ${BACKEND} backend`, () => {
  it('runs the backend the project asked for', () => {
    expect(backend()).toBe(BACKEND)
  })

  describe('NOP', () => {
    it('round-trips through the public nop() and the Completion form', async () => {
      expect(await nop()).toBe(0)

      const p = getProactor()
      const before = p.pending
      const got: [number, number][] = []
      const done = new Promise<void>((resolve) => {
        p.nop({ complete: (res, flags) => { got.push([res, flags]); resolve() } })
      })
      // Never completed inside the start call.
      expect(got).toEqual([])
      expect(p.pending).toBe(before + 1)
      await done
      expect(got).toEqual([[0, 0]])
      expect(p.pending).toBe(before)
    })

    it('completes 100 000 NOPs through nop(), in chunks', async () => {
      const N = 100_000
      const CHUNK = 10_000
      let ok = 0
      for (let i = 0; i < N; i += CHUNK) {
        const results = await Promise.all(Array.from({ length: CHUNK }, () => nop()))
        for (const r of results) if (r === 0) ok++
      }
      expect(ok).toBe(N)
      expect(getProactor().pending).toBe(0)
    })

    it('delivers each of 100 000 raw NOPs to its own target exactly once', async () => {
      const p = getProactor()
      const N = 100_000
      const hits = new Uint8Array(N)
      let done = 0
      let bad = 0
      await new Promise<void>((resolve) => {
        for (let i = 0; i < N; i++) {
          // One target object per operation: a user_data mix-up would hit the wrong index.
          p.nop({
            complete: (res) => {
              if (res !== 0) bad++
              hits[i]!++
              if (++done === N) resolve()
            },
          })
        }
      })
      expect(bad).toBe(0)
      expect(hits.every((h) => h === 1)).toBe(true)
      expect(p.pending).toBe(0)
    })
  })

  describe('timers', () => {
    it('timer(ms) emits 0 once, not early, then completes', async () => {
      const t0 = performance.now()
      const values: number[] = []
      await new Promise<void>((resolve, reject) => {
        timer(25).subscribe({ next: (v) => values.push(v), complete: resolve, error: reject })
      })
      expect(values).toEqual([0])
      // Timer slack: the kernel's hrtimer may fire a hair early relative to performance.now() rounding.
      expect(performance.now() - t0).toBeGreaterThanOrEqual(24)
    })

    it('interval(ms) ticks 0, 1, 2, … and stops on unsubscribe', async () => {
      const p = getProactor()
      const before = p.pending
      const ticks: number[] = []
      const sub = interval(5).subscribe((v) => ticks.push(v))
      await until(() => ticks.length >= 4, 2000, '4 ticks')
      sub.unsubscribe()
      const n = ticks.length
      await sleep(40)
      expect(ticks.length).toBe(n)
      expect(ticks).toEqual(Array.from({ length: n }, (_, i) => i))
      await until(() => p.pending === before, 1000, 'the interval to leave the proactor')
    })

    it('timer(0) fires, and fractional delays (documented as kept to the nanosecond) are accepted', async () => {
      for (const ms of [0, 1.5, 2.25]) {
        const t0 = performance.now()
        const values = await new Promise<number[]>((resolve, reject) => {
          const got: number[] = []
          timer(ms).subscribe({ next: (v) => got.push(v), complete: () => resolve(got), error: reject })
        })
        expect(values, `timer(${ms})`).toEqual([0])
        expect(performance.now() - t0).toBeGreaterThanOrEqual(Math.floor(ms))
      }
    })

    it('2000 timers started in one turn each fire once, none early', async () => {
      // More timeouts than SQEs in one turn: each SQE's timespec must still be its own.
      const N = 2000
      const t0 = performance.now()
      const early: string[] = []
      let fired = 0
      await new Promise<void>((resolve, reject) => {
        for (let i = 0; i < N; i++) {
          const ms = 1 + (i % 25)
          timer(ms).subscribe({
            next: () => {
              const dt = performance.now() - t0
              if (dt < ms - 1) early.push(`timer(${ms}) after ${dt.toFixed(2)} ms`)
            },
            complete: () => { if (++fired === N) resolve() },
            error: reject,
          })
        }
      })
      expect(early).toEqual([])
      expect(fired).toBe(N)
    })

    it('a timer unsubscribed before it fires never fires, whether or not it was submitted', async () => {
      const p = getProactor()
      const before = p.pending
      let fired = 0
      // Unsubscribed in the same turn: the cancel rides in the same batch as the timeout.
      timer(20).subscribe(() => fired++).unsubscribe()
      // Unsubscribed while in flight in the kernel.
      const sub = timer(30).subscribe(() => fired++)
      await sleep(5)
      sub.unsubscribe()
      await sleep(80)
      expect(fired).toBe(0)
      await until(() => p.pending === before, 1000, 'cancelled timers to leave the proactor')
    })
  })

  describe('cancellation with AbortSignal', () => {
    it('aborting a read blocked on an empty FIFO rejects it with AbortError and consumes nothing', async () => {
      const fd = fifo('abort-read')
      const p = getProactor()
      const before = p.pending
      try {
        const ac = new AbortController()
        const buf = Buffer.alloc(16)
        const pr = read(fd, buf, -1, { signal: ac.signal })
        await sleep(20) // let it reach the kernel / the backend's wait
        expect(p.pending).toBe(before + 1)
        ac.abort()
        const out = await settleWithin(pr, 1000)
        if (out.state === 'pending') {
          // Unblock whatever still waits on the FIFO so the process can exit, then fail.
          writeSync(fd, 'u')
          await settleWithin(pr, 1000)
          expect.fail('the read was still pending 1 s after abort(): the abort did not cancel it')
        }
        expect(out.state).toBe('rejected')
        expect((out as { reason: Error }).reason.name).toBe('AbortError')
        expect(p.pending).toBe(before)
        // The cancelled read took nothing: the next byte written is still there to read.
        writeSync(fd, 'z')
        const got = Buffer.alloc(4)
        expect(readSync(fd, got, 0, 4, null)).toBe(1)
        expect(got.toString('latin1', 0, 1)).toBe('z')
      } finally {
        closeSync(fd)
      }
    })

    it("aborting a read on an idle socket of the backend's own rejects it with the signal's reason", async () => {
      const { a, b, cleanup } = await tcpPair()
      try {
        const p = getProactor()
        const before = p.pending
        const ac = new AbortController()
        const pr = read(a, Buffer.alloc(16), -1, { signal: ac.signal })
        await sleep(20)
        const reason = new Error('user gave up')
        ac.abort(reason)
        const out = await settleWithin(pr, 1000)
        expect(out).toEqual({ state: 'rejected', reason })
        expect(p.pending).toBe(before)
        // Nothing was consumed by the cancelled read.
        expect(await write(b, Buffer.from('hi'))).toBe(2)
        const got = Buffer.alloc(16)
        expect(await read(a, got)).toBe(2)
        expect(got.toString('latin1', 0, 2)).toBe('hi')
      } finally {
        await cleanup()
      }
    })

    it('a signal shared by many operations keeps no listener once they complete', async () => {
      const ac = new AbortController()
      await Promise.all(Array.from({ length: 1000 }, () => nop({ signal: ac.signal })))
      expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0)
      ac.abort() // nothing left to cancel, nothing throws
    })

    it('a signal aborted before the call rejects without submitting anything', async () => {
      const p = getProactor()
      const before = p.pending
      const ac = new AbortController()
      ac.abort()
      const fd = fifo('pre-aborted')
      try {
        const r1 = read(fd, Buffer.alloc(4), -1, { signal: ac.signal })
        const r2 = nop({ signal: ac.signal })
        expect(p.pending).toBe(before)
        await expect(r1).rejects.toMatchObject({ name: 'AbortError' })
        await expect(r2).rejects.toMatchObject({ name: 'AbortError' })
        expect(p.pending).toBe(before)
      } finally {
        closeSync(fd)
      }
    })
  })

  describe('errors', () => {
    it('a read on a bad fd rejects with IoError EBADF, matched with ts-pattern', async () => {
      const err: unknown = await read(BAD_FD, Buffer.alloc(8), 0).then(
        () => expect.fail('read on a bad fd resolved'),
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(IoError)
      expect(IoError.is(err)).toBe(true)
      expect(err).toMatchObject({ name: 'IoError', code: 'EBADF', errno: 9, op: 'read', handle: BAD_FD })
      expect((err as Error).message).toContain('EBADF')
      const how = match(err)
        .with({ code: 'ECONNRESET' }, () => 'reset')
        .with({ code: 'EBADF', op: P.string, handle: P.number }, (e) => `bad fd ${e.handle} in ${e.op}`)
        .otherwise(() => 'other')
      expect(how).toBe(`bad fd ${BAD_FD} in read`)
    })

    it('bad arguments throw synchronously, naming the argument, and submit nothing', () => {
      const p = getProactor()
      const before = p.pending
      const buf = Buffer.alloc(4)
      expect(() => read(-1, buf)).toThrow(/\bfd\b/)
      expect(() => read(1.5, buf)).toThrow(/\bfd\b/)
      expect(() => read(0, buf, 'x' as unknown as number)).toThrow(/\boffset\b/)
      expect(() => read(0, buf, -2)).toThrow(/\boffset\b/)
      expect(() => read(0, 'not a buffer' as unknown as Buffer)).toThrow(/\bbuf\b/)
      expect(() => write(0, null as unknown as Buffer)).toThrow(/\bbuf\b/)
      expect(() => readv(0, [])).toThrow(/\bbuffers\b/)
      expect(() => writev(0, [buf, 'x' as unknown as Buffer])).toThrow(/buffers\[1\]/)
      expect(() => interval(0)).toThrow(/\bms\b/)
      expect(() => timer(Number.NaN)).toThrow(/\bms\b/)
      expect(() => timer(-1)).toThrow(/\bms\b/)
      expect(() => poll(-1, PollEvents.IN)).toThrow(/\bfd\b/)
      expect(() => nop({ signal: 'x' as unknown as AbortSignal })).toThrow(/\bsignal\b/)
      expect(p.pending).toBe(before)
    })

    it('an operation on a closed proactor throws at the call site; the next one gets a new proactor', async () => {
      const p = getProactor()
      const pending = nop() // in flight when the proactor closes
      closeProactor()
      expect(p.closed).toBe(true)
      const c: Completion = { complete: () => expect.fail('a closed proactor delivered a completion') }
      expect(() => p.nop(c)).toThrow(/closed/)
      // What was in flight is not left dangling: it settles (completed, or ECANCELED).
      const out = await settleWithin(pending, 1000)
      expect(out.state).not.toBe('pending')
      if (out.state === 'rejected') expect(out.reason).toMatchObject({ code: 'ECANCELED' })
      expect(await nop()).toBe(0)
      expect(getProactor()).not.toBe(p)
    })
  })

  describe('poll(fd, events)', () => {
    it('emits when a FIFO becomes readable and stops on unsubscribe', async () => {
      const fd = fifo('poll')
      const p = getProactor()
      const before = p.pending
      try {
        const seen: number[] = []
        const sub = poll(fd, PollEvents.IN).subscribe({ next: (ev) => seen.push(ev), error: (e: unknown) => expect.fail(String(e)) })
        await sleep(20)
        expect(seen).toEqual([]) // nothing to read yet
        writeSync(fd, 'x')
        await until(() => seen.length > 0, 2000, 'POLLIN')
        expect(seen[0]! & PollEvents.IN).toBe(PollEvents.IN)
        expect(readSync(fd, Buffer.alloc(4), 0, 4, null)).toBe(1)
        sub.unsubscribe()
        await sleep(10)
        const n = seen.length
        writeSync(fd, 'y')
        await sleep(40)
        expect(seen.length).toBe(n)
        await until(() => p.pending === before, 1000, 'the poll to leave the proactor')
        expect(readSync(fd, Buffer.alloc(4), 0, 4, null)).toBe(1) // 'y' still there: poll consumed nothing
      } finally {
        closeSync(fd)
      }
    })

    it('errors with IoError EBADF for a bad fd', async () => {
      const err = await new Promise<unknown>((resolve) => {
        poll(BAD_FD, PollEvents.IN).subscribe({ next: () => resolve(new Error('emitted')), error: resolve, complete: () => resolve(new Error('completed')) })
      })
      expect(err).toMatchObject({ name: 'IoError', code: 'EBADF', op: 'poll', handle: BAD_FD })
    })
  })

  describe('positional file I/O', () => {
    it('read/write/readv/writev at explicit offsets round-trip; reads past EOF are short', async () => {
      const path = join(dir, 'rw.bin')
      const fd = openSync(path, 'w+')
      try {
        expect(await write(fd, Buffer.from('AAAA'), 0)).toBe(4)
        expect(await write(fd, Buffer.from('BBBB'), 8)).toBe(4)
        expect(readFileSync(path).toString('latin1')).toBe('AAAA\0\0\0\0BBBB')
        expect(await writev(fd, [Buffer.from('cc'), Buffer.from('dd')], 4)).toBe(4)
        expect(readFileSync(path).toString('latin1')).toBe('AAAAccddBBBB')

        const four = Buffer.alloc(4)
        expect(await read(fd, four, 4)).toBe(4)
        expect(four.toString('latin1')).toBe('ccdd')
        const x = Buffer.alloc(3)
        const y = Buffer.alloc(5)
        expect(await readv(fd, [x, y], 2)).toBe(8)
        expect(x.toString('latin1') + y.toString('latin1')).toBe('AAccddBB')

        // Past the end: short, then zero — not an error.
        const ten = Buffer.alloc(10, 0x2e)
        expect(await read(fd, ten, 8)).toBe(4)
        expect(ten.toString('latin1')).toBe('BBBB......')
        expect(await read(fd, ten, 12)).toBe(0)
        expect(await read(fd, ten, 1000)).toBe(0)
        expect(await readv(fd, [x, y], 10)).toBe(2)

        // None of it moved the fd's own position: a plain write lands at 0.
        writeSync(fd, 'Z')
        expect(readFileSync(path).toString('latin1')).toBe('ZAAAccddBBBB')
      } finally {
        closeSync(fd)
      }
    })

    it('concurrent writes land exactly at their offsets, including beyond 4 GiB', async () => {
      const path = join(dir, 'offsets.bin')
      const fd = openSync(path, 'w+')
      try {
        const BLOCK = 4096
        const blocks = Array.from({ length: 16 }, () => randomBytes(BLOCK))
        // Started together, in reverse order: each must still land at its own offset.
        const wrote = await Promise.all(blocks.map((b, i) => write(fd, b, (15 - i) * BLOCK)))
        expect(wrote).toEqual(blocks.map(() => BLOCK))
        const file = readFileSync(path)
        expect(file.length).toBe(16 * BLOCK)
        blocks.forEach((b, i) => expect(file.subarray((15 - i) * BLOCK, (16 - i) * BLOCK).equals(b)).toBe(true))

        // A 64-bit offset: the high word must reach the kernel (sparse file, no real 4 GiB written).
        const far = 2 ** 32 + 3
        expect(await write(fd, Buffer.from('far'), far)).toBe(3)
        expect(statSync(path).size).toBe(far + 3)
        const back = Buffer.alloc(8)
        expect(await read(fd, back, far - 2)).toBe(5)
        expect(back.toString('latin1', 0, 5)).toBe('\0\0far')
        // And nothing landed at the low word alone (offset 3).
        const head = Buffer.alloc(16)
        expect(readSync(fd, head, 0, 16, 0)).toBe(16)
        expect(head.equals(blocks[15]!.subarray(0, 16))).toBe(true)
      } finally {
        closeSync(fd)
      }
    })
  })

  describe('the shared buffer pool', () => {
    it('ENOBUFS on an exhausted pool loses nothing: 64 KiB arrive byte-exact through 2 x 1 KiB buffers held late', async () => {
      const p = getProactor()
      const { a, peer, cleanup } = await tcpPair({ nodePeer: true })
      const group = p.bufferGroup(2, 1024)
      try {
        const sent = randomBytes(64 * 1024)
        const got = Buffer.alloc(sent.length)
        let at = 0
        let enobufs = 0
        let arms = 0
        let eof = false
        let failure: unknown = null
        let held = 0

        const target: Completion = {
          complete(res, flags) {
            if (res > 0) {
              if ((flags & IORING_CQE_F_BUFFER) === 0) { failure = new Error(`data without a buffer (flags ${flags})`); return }
              const bid = flags >>> IORING_CQE_BUFFER_SHIFT
              const dst = at
              at += res
              if (at > got.length) { failure = new Error(`received ${at} bytes, more than sent`); return }
              held++
              // Hold the buffer for a while: the kernel must not write into a lent buffer meanwhile.
              setTimeout(() => {
                group.copyOut(bid, res, got, dst)
                group.release(bid)
                held--
              }, 2)
              if ((flags & IORING_CQE_F_MORE) === 0) arm() // the kernel ended the multishot: go on
            } else if (res === 0) {
              eof = true
            } else if (res === -ENOBUFS) {
              enobufs++
              if ((flags & IORING_CQE_F_MORE) !== 0) failure = new Error('ENOBUFS with MORE: it must end the multishot')
              // Nothing was lost: re-arm once a buffer is back (or now, if one already is).
              if (group.available > 0) arm()
              else group.onRelease(arm)
            } else {
              failure = new IoError(-res, 'recv', a)
            }
          },
        }
        const arm = (): void => {
          arms++
          p.recvMultishot(a, group, target)
        }
        arm()
        peer!.end(sent)
        await until(() => (eof && held === 0) || failure !== null, 10_000, 'EOF and all buffers back')
        if (failure !== null) throw failure
        expect(at).toBe(sent.length)
        expect(got.equals(sent)).toBe(true)
        expect(enobufs).toBeGreaterThan(0)
        expect(arms).toBeGreaterThan(1)
        expect(group.available).toBe(2)
      } finally {
        group.close()
        await cleanup()
      }
    })
  })

  describe('multishot recvmsg', () => {
    const AF_INET = 2
    const SOCK_DGRAM = 2
    const MSG_TRUNC = 0x20
    const sockaddrIn = (port: number): Buffer => {
      const b = Buffer.alloc(16)
      b.writeUInt16LE(AF_INET, 0)
      b.writeUInt16BE(port, 2)
      b.set([127, 0, 0, 1], 4)
      return b
    }
    /** A msghdr asking for `name` bytes of address room and `control` bytes of control room. */
    const msghdr = (name: number, control: number): Buffer => {
      const m = Buffer.alloc(56)
      m.writeUInt32LE(name, 8)
      m.writeUInt32LE(control, 40)
      return m
    }

    it('delivers each datagram (0 bytes and truncated ones included) with its sender, laid out as io_uring_recvmsg_out; ENOBUFS ends it, nothing lost', async () => {
      const p = getProactor()
      const rx = p.socket(AF_INET, SOCK_DGRAM, 0)
      const tx = p.socket(AF_INET, SOCK_DGRAM, 0)
      sockets.bind(rx, sockaddrIn(0))
      sockets.bind(tx, sockaddrIn(0))
      const rxPort = sockets.sockName(rx).readUInt16BE(2)
      const txPort = sockets.sockName(tx).readUInt16BE(2)
      const NAME = 32
      const SIZE = 16 + NAME + 100 // 100 bytes of payload room
      const group = p.bufferGroup(4, SIZE)
      const msg = msghdr(NAME, 0)
      const got: { len: number; size: number; trunc: boolean; port: number; first: number }[] = []
      let enobufs = 0
      let failure: Error | null = null
      const held: number[] = []
      let holding = true
      const target: Completion = {
        complete: (res, flags) => {
          if ((flags & IORING_CQE_F_MORE) === 0) live = false
          if (closing) {
            if ((flags & IORING_CQE_F_BUFFER) !== 0) group.release(flags >>> IORING_CQE_BUFFER_SHIFT)
            return
          }
          if (res === -ENOBUFS) {
            enobufs++
            if ((flags & IORING_CQE_F_MORE) !== 0) failure = new Error('ENOBUFS with MORE')
            if (group.available > 0) arm()
            else group.onRelease(arm)
            return
          }
          if (res < 0) { failure = new IoError(-res, 'recvmsg', rx); return }
          if ((flags & IORING_CQE_F_BUFFER) === 0) { failure = new Error(`no buffer (flags ${flags})`); return }
          const bid = flags >>> IORING_CQE_BUFFER_SHIFT
          const out = parseRecvmsgOut(group.view(bid, res), NAME, 0)
          if (out === null) { failure = new Error(`short buffer: ${res}`); return }
          const name = group.view(bid, res).subarray(out.nameOffset, out.nameOffset + Math.min(out.namelen, NAME))
          got.push({ len: out.payloadBytes, size: out.payloadlen, trunc: (out.flags & MSG_TRUNC) !== 0, port: name.readUInt16BE(2), first: out.payloadBytes > 0 ? group.view(bid, res)[out.payloadOffset]! : -1 })
          if (holding) held.push(bid)
          else group.release(bid)
          // As the kernel does, an empty payload ends the multishot (re-armed below).
          if (out.payloadlen === 0 && (flags & IORING_CQE_F_MORE) !== 0) failure = new Error('a 0-byte datagram kept MORE')
          if ((flags & IORING_CQE_F_MORE) === 0) arm()
        },
      }
      let closing = false
      let live = false
      let opId = -1
      const arm = (): void => {
        if (closing) return
        live = true
        opId = p.recvmsgMultishot(rx, msg, MSG_TRUNC, group, target)
      }
      try {
        arm()
        const sizes = [5, 0, 300, 7, 1, 2, 3]
        const to = sockaddrIn(rxPort)
        for (const [i, n] of sizes.entries()) {
          const data = Buffer.alloc(Math.max(1, n), i + 1)
          const hdr = Buffer.alloc(56)
          const iov = Buffer.alloc(16)
          iov.writeBigUInt64LE(BigInt(n === 0 ? 0 : addressOfBuf(data)), 0)
          iov.writeBigUInt64LE(BigInt(n), 8)
          hdr.writeBigUInt64LE(BigInt(addressOfBuf(to)), 0)
          hdr.writeUInt32LE(16, 8)
          hdr.writeBigUInt64LE(BigInt(addressOfBuf(iov)), 16)
          hdr.writeBigUInt64LE(1n, 24)
          await new Promise<void>((resolve, reject) =>
            p.sendmsg(tx, hdr, 0, [data, iov, to], { complete: (r) => (r === n ? resolve() : reject(new Error(`sendmsg ${r}`))) }),
          )
        }
        // 4 buffers held: the 5th datagram finds the group dry.
        await until(() => got.length === 4 && (enobufs > 0 || failure !== null), 5000, '4 datagrams then ENOBUFS')
        holding = false
        for (const bid of held.splice(0)) group.release(bid)
        await until(() => got.length === sizes.length || failure !== null, 5000, 'every datagram')
        if (failure !== null) throw failure
        expect(got).toEqual([
          { len: 5, size: 5, trunc: false, port: txPort, first: 1 },
          { len: 0, size: 0, trunc: false, port: txPort, first: -1 },
          { len: 100, size: 300, trunc: true, port: txPort, first: 3 },
          { len: 7, size: 7, trunc: false, port: txPort, first: 4 },
          { len: 1, size: 1, trunc: false, port: txPort, first: 5 },
          { len: 2, size: 2, trunc: false, port: txPort, first: 6 },
          { len: 3, size: 3, trunc: false, port: txPort, first: 7 },
        ])
        expect(enobufs).toBeGreaterThan(0)
        expect(group.available).toBe(4)
      } finally {
        closing = true
        if (live) p.cancel(opId)
        await until(() => !live, 2000, 'the cancelled receive to end')
        // Through the proactor: the reactor must stop watching rx before its number can be reused.
        await Promise.all([rx, tx].map((fd) => new Promise<void>((resolve) => p.close(fd, { complete: () => resolve() }))))
        group.close()
      }
    })
  })

  describe('process lifetime', () => {
    const coreDist = fileURLToPath(new URL('../dist/index.js', import.meta.url))
    beforeAll(() => buildOnce(() => !existsSync(coreDist)), 300_000)

    it.each([
      ['only creates the proactor', ''],
      ['creates the proactor and awaits one nop', 'if ((await nop()) !== 0) process.exit(3)'],
      ['unsubscribes an interval and starts an unref-ed nop', "interval(1000).subscribe().unsubscribe(); nop({ ref: false }).catch(() => {});"],
    ])('a script that %s exits by itself with code 0', async (_what, body) => {
      const scratch = fileURLToPath(new URL('../../../scratch/', import.meta.url))
      mkdirSync(scratch, { recursive: true })
      const sdir = mkdtempSync(join(scratch, 'core-exit-'))
      try {
        const script = join(sdir, 'child.mjs')
        writeFileSync(
          script,
          [
            `import { backend, getProactor, interval, nop } from ${JSON.stringify(coreDist)}`,
            'getProactor()',
            body,
            'console.log(backend())',
          ].join('\n'),
        )
        const t0 = performance.now()
        const { code, signal, stdout, stderr } = await runNode(script, 5000)
        expect({ code, signal, stderr }).toEqual({ code: 0, signal: null, stderr: '' })
        expect(stdout.trim()).toBe(BACKEND)
        expect(performance.now() - t0).toBeLessThan(5000)
      } finally {
        rmSync(sdir, { recursive: true, force: true })
      }
    })
  })
})

/**
 * A connected TCP pair on 127.0.0.1 whose ringio end `a` is a socket of the
 * backend's own (`Proactor.socket`, accepted through the proactor). The other
 * end is another ringio socket `b`, or a `node:net` socket `peer`.
 */
async function tcpPair(opts: { nodePeer?: boolean } = {}): Promise<{
  a: number
  b: number
  peer: import('node:net').Socket | null
  cleanup: () => Promise<void>
}> {
  const AF_INET = 2
  const SOCK_STREAM = 1
  const SOL_SOCKET = 1
  const SO_REUSEADDR = 2
  const p = getProactor()
  const sin = (port: number): Buffer => {
    const s = Buffer.alloc(16)
    s.writeUInt16LE(AF_INET, 0)
    s.writeUInt16BE(port, 2)
    s.set([127, 0, 0, 1], 4)
    return s
  }
  const lfd = p.socket(AF_INET, SOCK_STREAM, 0)
  sockets.setIntOption(lfd, SOL_SOCKET, SO_REUSEADDR, 1)
  sockets.bind(lfd, sin(0))
  sockets.listen(lfd, 4)
  const port = sockets.sockName(lfd).readUInt16BE(2)
  const once = (start: (c: Completion) => void): Promise<number> =>
    new Promise((resolve, reject) => start({ complete: (res) => (res < 0 ? reject(new IoError(-res, 'setup')) : resolve(res)) }))
  const accepted = once((c) => p.accept(lfd, false, c))
  let b = -1
  let peer: import('node:net').Socket | null = null
  if (opts.nodePeer === true) {
    peer = netConnect(port, '127.0.0.1')
    await new Promise<void>((resolve, reject) => peer!.once('connect', resolve).once('error', reject))
  } else {
    b = p.socket(AF_INET, SOCK_STREAM, 0)
    const addr = sin(port)
    await once((c) => p.connect(b, addr, c))
  }
  const a = await accepted
  await close(lfd)
  return {
    a,
    b,
    peer,
    cleanup: async () => {
      peer?.destroy()
      await close(a).catch(() => {})
      if (b >= 0) await close(b).catch(() => {})
    },
  }
}

/** Runs `node script` and collects its exit; kills it (and reports `signal`) after `ms`. */
function runNode(script: string, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const killer = setTimeout(() => child.kill('SIGKILL'), ms)
    child.on('close', (code, signal) => {
      clearTimeout(killer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}
