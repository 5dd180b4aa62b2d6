import { randomBytes } from 'node:crypto'
import { closeSync, openSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import type { Completion, Proactor } from '../proactor.js'
import { IORING_CQE_F_BUFFER, IORING_CQE_F_MORE } from '../uring/abi.js'
import { createPollProactor } from './poll-proactor.js'
import * as sys from './sys.js'
import { statusFlags } from '../sys/fd-flags.js'
import { bind, listen, sockName } from '../sys/socket.js'
import { pipe2, socketpair } from '../../test/helpers/fds.js'

const AF_UNIX = 1
const AF_INET = 2
const SOCK_STREAM = 1
const MORE = IORING_CQE_F_MORE

type Cqe = [res: number, flags: number]

/** A completion target that records every event and can be awaited. */
class Rec implements Completion {
  readonly events: Cqe[] = []
  private wake: (() => void) | null = null
  complete(res: number, flags: number): void {
    this.events.push([res, flags])
    this.wake?.()
  }
  /** Resolves once `n` events arrived. */
  async upTo(n: number): Promise<Cqe[]> {
    while (this.events.length < n) await new Promise<void>((r) => (this.wake = r))
    return this.events
  }
  async first(): Promise<Cqe> {
    return (await this.upTo(1))[0]!
  }
}

const fdCount = (): number => readdirSync('/proc/self/fd').length
const nonblock = (fd: number): number => statusFlags(fd) & sys.O_NONBLOCK

function sin(port: number): Buffer {
  const b = Buffer.alloc(16)
  b.writeUInt16LE(AF_INET, 0)
  b.writeUInt16BE(port, 2)
  b.set([127, 0, 0, 1], 4)
  return b
}

function socketPair(): [number, number] {
  const sv = Buffer.alloc(8)
  expect(socketpair(AF_UNIX, SOCK_STREAM | sys.SOCK_NONBLOCK | sys.SOCK_CLOEXEC, 0, sv)).toBe(0)
  return [sv.readInt32LE(0), sv.readInt32LE(4)]
}

function blockingPipe(): [number, number] {
  const fds = Buffer.alloc(8)
  expect(pipe2(fds, sys.O_CLOEXEC)).toBe(0)
  return [fds.readInt32LE(0), fds.readInt32LE(4)]
}

let p: Proactor
afterEach(() => p?.close())

// This file tests the poll backend itself, whatever backend the project selects: run it once, under 'poll'.
const otherProject = process.env['RINGIO_BACKEND'] === 'uring'

describe.skipIf(otherProject)('poll proactor: basics', () => {
  it('delivers a nop later, never inside the start call', async () => {
    p = createPollProactor()
    const c = new Rec()
    p.nop(c)
    expect(c.events).toEqual([])
    expect(p.pending).toBe(1)
    expect(await c.first()).toEqual([0, 0])
    expect(p.pending).toBe(0)
    expect(p.backend).toBe('poll')
    expect(p.supports('sendZc')).toBe(false)
    expect(p.supports('recvMultishot')).toBe(true)
  })

  it('delivers completions in order', async () => {
    p = createPollProactor()
    const order: number[] = []
    const c = new Rec()
    for (let i = 0; i < 5; i++) p.nop({ complete: () => order.push(i) })
    p.nop(c)
    await c.first()
    expect(order).toEqual([0, 1, 2, 3, 4])
  })

  it('times out with -ETIME, and repeats with MORE until cancelled', async () => {
    p = createPollProactor()
    const once = new Rec()
    p.timeout(5, false, once)
    expect(await once.first()).toEqual([-sys.ETIME, 0])
    const rep = new Rec()
    const id = p.timeout(2, true, rep)
    await rep.upTo(3)
    p.cancel(id)
    const n = rep.events.length
    await rep.upTo(n + 1)
    expect(rep.events.slice(0, n).every(([r, f]) => r === -sys.ETIME && f === MORE)).toBe(true)
    expect(rep.events[n]).toEqual([-sys.ECANCELED, 0])
    expect(p.pending).toBe(0)
  })

  it('cancels a pending timeout; ignores unknown ids and already-completed ops', async () => {
    p = createPollProactor()
    const t = new Rec()
    p.cancel(p.timeout(60_000, false, t))
    expect(await t.first()).toEqual([-sys.ECANCELED, 0])
    p.cancel(123456)
    const n = new Rec()
    const id = p.nop(n)
    p.cancel(id) // its completion is already queued: it stands
    expect(await n.first()).toEqual([0, 0])
    p.cancel(id) // finished: ignored
  })

  it('keeps delivering when a target throws, then rethrows the first error', async () => {
    p = createPollProactor()
    const thrown: (() => void)[] = []
    const orig = globalThis.queueMicrotask
    globalThis.queueMicrotask = (fn) => thrown.push(fn)
    try {
      const last = new Rec()
      p.nop({ complete: () => { throw new Error('boom 1') } })
      p.nop({ complete: () => { throw new Error('boom 2') } })
      p.nop(last)
      await last.first()
    } finally {
      globalThis.queueMicrotask = orig
    }
    expect(thrown).toHaveLength(1)
    expect(() => thrown[0]!()).toThrow('boom 1')
  })
})

describe.skipIf(otherProject)('poll proactor: sockets', () => {
  it('echoes 4 MiB over TCP with 4 x 4 KiB buffers, re-arming after ENOBUFS', async () => {
    p = createPollProactor()
    const lfd = p.socket(AF_INET, SOCK_STREAM, 0)
    bind(lfd, sin(0))
    listen(lfd, 16)
    const port = sockName(lfd).readUInt16BE(2)
    const group = p.bufferGroup(4, 4096)

    // Server: multishot accept, multishot recv into the group, one send in flight, buffer released when sent.
    let enobufs = 0
    let srv = -1
    const serverDone = new Rec()
    const out: { bid: number; len: number; off: number }[] = []
    let sending = false
    const pump = (): void => {
      if (sending || out.length === 0) return
      const head = out[0]!
      sending = true
      p.send(srv, group.view(head.bid, head.len).subarray(head.off), 0, {
        complete(res) {
          sending = false
          expect(res).toBeGreaterThan(0)
          head.off += res
          if (head.off === head.len) {
            out.shift()
            group.release(head.bid) // may re-arm the receive (onRelease)
          }
          pump()
        },
      })
    }
    const arm = (): void => {
      p.recvMultishot(srv, group, {
        complete(res, flags) {
          if (res === -sys.ENOBUFS) {
            expect(flags).toBe(0)
            enobufs++
            group.onRelease(arm)
          } else if (res > 0) {
            expect(flags & (IORING_CQE_F_BUFFER | MORE)).toBe(IORING_CQE_F_BUFFER | MORE)
            out.push({ bid: flags >>> 16, len: res, off: 0 })
            pump()
          } else serverDone.complete(res, flags) // 0 = EOF
        },
      })
    }
    const acceptId = p.accept(lfd, true, {
      complete(res, flags) {
        if (res < 0) return
        expect(flags).toBe(MORE)
        srv = res
        arm()
      },
    })

    // Client: connect, send everything (serialised, resuming partial sends), read it all back.
    const cfd = p.socket(AF_INET, SOCK_STREAM, 0)
    const conn = new Rec()
    p.connect(cfd, sin(port), conn)
    expect(await conn.first()).toEqual([0, 0])
    const data = randomBytes(4 << 20)
    const back = Buffer.alloc(data.length)
    const sent = new Promise<void>((resolve, reject) => {
      const go = (off: number): void => {
        if (off === data.length) return resolve()
        p.send(cfd, data.subarray(off), 0, { complete: (res) => (res > 0 ? go(off + res) : reject(new Error(`send ${res}`))) })
      }
      go(0)
    })
    const received = new Promise<void>((resolve, reject) => {
      const go = (got: number): void => {
        if (got === back.length) return resolve()
        p.recv(cfd, back.subarray(got), 0, { complete: (res) => (res > 0 ? go(got + res) : reject(new Error(`recv ${res}`))) })
      }
      go(0)
    })
    await Promise.all([sent, received])
    expect(back.equals(data)).toBe(true)
    expect(enobufs).toBeGreaterThan(0)

    // Orderly shutdown: the server's multishot recv ends with EOF (0, no flags) and every buffer is back.
    const sh = new Rec()
    p.shutdown(cfd, 1, sh)
    expect(await sh.first()).toEqual([0, 0])
    expect(await serverDone.first()).toEqual([0, 0])
    expect(group.available).toBe(4)
    const acc = new Rec()
    p.cancel(acceptId)
    for (const fd of [srv, cfd, lfd]) p.close(fd, acc)
    await acc.upTo(3)
    expect(acc.events).toEqual([[0, 0], [0, 0], [0, 0]])
    expect(p.pending).toBe(0)
  })

  it('reports a refused connect as -ECONNREFUSED', async () => {
    p = createPollProactor()
    const probe = p.socket(AF_INET, SOCK_STREAM, 0)
    bind(probe, sin(0)) // a port that is bound but not listening
    const name = sockName(probe)
    const fd = p.socket(AF_INET, SOCK_STREAM, 0)
    const c = new Rec()
    p.connect(fd, sin(name.readUInt16BE(2)), c)
    expect(await c.first()).toEqual([-111, 0])
    sys.close(fd)
    sys.close(probe)
  })

  it('cancels a pending recv, and close(fd) fails the ops pending on it first', async () => {
    p = createPollProactor()
    const [a, b] = socketPair()
    const r1 = new Rec()
    const id = p.recv(a, Buffer.alloc(16), 0, r1)
    await sleep(10)
    expect(r1.events).toEqual([])
    p.cancel(id)
    expect(await r1.first()).toEqual([-sys.ECANCELED, 0])

    const order: string[] = []
    p.recv(a, Buffer.alloc(16), 0, { complete: (res) => order.push(`recv ${res}`) })
    p.poll(a, sys.POLLIN, true, { complete: (res) => order.push(`poll ${res}`) })
    const cl = new Rec()
    p.close(a, { complete: (res, f) => (order.push(`close ${res}`), cl.complete(res, f)) })
    await cl.first()
    expect(order).toEqual([`recv ${-sys.ECANCELED}`, `poll ${-sys.ECANCELED}`, 'close 0'])
    expect(p.pending).toBe(0)
    sys.close(b)
  })

  it('polls for readiness, once and multishot', async () => {
    p = createPollProactor()
    const [a, b] = socketPair()
    const once = new Rec()
    p.poll(a, sys.POLLIN, false, once)
    await sleep(5)
    expect(once.events).toEqual([])
    expect(sys.write(b, Buffer.from('x'), 1)).toBe(1)
    const [res, flags] = await once.first()
    expect(res & sys.POLLIN).toBe(sys.POLLIN)
    expect(flags).toBe(0)

    // Multishot is edge-triggered, as io_uring's: once now (writable), then once per new wakeup.
    const multi = new Rec()
    const id = p.poll(a, sys.POLLOUT, true, multi)
    await multi.upTo(1)
    await sleep(20)
    expect(multi.events).toEqual([[sys.POLLOUT, MORE]])
    expect(sys.write(a, Buffer.from('y'), 1)).toBe(1)
    expect(sys.read(b, Buffer.alloc(8), 8)).toBe(1) // frees a's send room: a write wakeup
    await multi.upTo(2)
    expect(multi.events.slice(0, 2)).toEqual([[sys.POLLOUT, MORE], [sys.POLLOUT, MORE]])
    p.cancel(id)
    await new Promise<void>((r) => p.nop({ complete: () => r() }))
    expect(multi.events.at(-1)).toEqual([-sys.ECANCELED, 0])
    sys.close(a)
    sys.close(b)
  })
})

describe.skipIf(otherProject)('poll proactor: files and blocking fds', () => {
  it('preads and pwrites a real file through the threadpool', async () => {
    p = createPollProactor()
    const path = `/var/tmp/ringio-poll-${process.pid}.bin`
    const op = new Rec()
    p.openat(-100, Buffer.from(`${path}\0`), 0o102 | sys.O_CLOEXEC, 0o600, op) // O_RDWR|O_CREAT
    const [fd] = await op.first()
    expect(fd).toBeGreaterThanOrEqual(0)
    try {
      const w = new Rec()
      p.write(fd, Buffer.from('hello, world'), 4096, w)
      expect(await w.first()).toEqual([12, 0])
      const wv = new Rec()
      p.writev(fd, [Buffer.from('ab'), Buffer.from('cd')], 0, wv)
      expect(await wv.first()).toEqual([4, 0])
      const s = new Rec()
      p.fsync(fd, true, s)
      expect(await s.first()).toEqual([0, 0])
      const buf = Buffer.alloc(12)
      const r = new Rec()
      p.read(fd, buf, 4096, r)
      expect(await r.first()).toEqual([12, 0])
      expect(buf.toString()).toBe('hello, world')
      const v1 = Buffer.alloc(1)
      const v2 = Buffer.alloc(3)
      const rv = new Rec()
      p.readv(fd, [v1, v2], 0, rv)
      expect(await rv.first()).toEqual([4, 0])
      expect(`${v1}${v2}`).toBe('abcd')
      expect(readFileSync(path).subarray(4096).toString()).toBe('hello, world')
      // A regular file cannot be polled (epoll: EPERM): poll reports it ready, as poll(2) does.
      const pl = new Rec()
      p.poll(fd, sys.POLLIN, false, pl)
      expect(await pl.first()).toEqual([sys.POLLIN, 0])
    } finally {
      const c = new Rec()
      p.close(fd, c)
      expect(await c.first()).toEqual([0, 0])
      unlinkSync(path)
    }
  })

  it('reads a blocking pipe on the threadpool and never sets O_NONBLOCK on it', async () => {
    p = createPollProactor()
    const [r, w] = blockingPipe()
    expect(nonblock(r)).toBe(0)
    const buf = Buffer.alloc(64)
    const rd = new Rec()
    p.read(r, buf, -1, rd)
    await sleep(20)
    expect(rd.events).toEqual([]) // blocked in a worker, not on the JS thread
    const wr = new Rec()
    p.write(w, Buffer.from('hello'), -1, wr)
    expect(await wr.first()).toEqual([5, 0])
    expect(await rd.first()).toEqual([5, 0])
    expect(buf.toString('utf8', 0, 5)).toBe('hello')

    // A read on a blocking pipe waits for readiness in the reactor first, so a
    // cancel ends it at once and consumes nothing: no worker stays stuck in read(2).
    const rd2 = new Rec()
    p.cancel(p.read(r, buf, -1, rd2))
    expect(await rd2.first()).toEqual([-125, 0])
    expect(sys.write(w, Buffer.from('late'), 4)).toBe(4)
    const rd3 = new Rec()
    p.read(r, buf, -1, rd3)
    expect(await rd3.first()).toEqual([4, 0])
    expect(buf.toString('utf8', 0, 4)).toBe('late')

    expect(nonblock(r)).toBe(0)
    expect(nonblock(w)).toBe(0)
    sys.close(r)
    sys.close(w)
  })

  it('reads a file opened by node (blocking) without touching its flags', async () => {
    p = createPollProactor()
    const path = `/var/tmp/ringio-poll-node-${process.pid}.txt`
    writeFileSync(path, 'from node')
    const fd = openSync(path, 'r')
    const flags = statusFlags(fd)
    const buf = Buffer.alloc(9)
    const rd = new Rec()
    p.read(fd, buf, -1, rd)
    expect(await rd.first()).toEqual([9, 0])
    expect(buf.toString()).toBe('from node')
    expect(statusFlags(fd)).toBe(flags)
    closeSync(fd)
    unlinkSync(path)
  })
})

describe.skipIf(otherProject)('poll proactor: close()', () => {
  it('cancels everything, is idempotent, leaves no fd behind, then refuses to start', async () => {
    const before = fdCount()
    p = createPollProactor()
    const [a, b] = socketPair()
    const recv = new Rec()
    const tmo = new Rec()
    const pl = new Rec()
    p.recv(a, Buffer.alloc(8), 0, recv)
    p.timeout(60_000, true, tmo)
    p.poll(b, sys.POLLIN, true, pl)
    const g = p.bufferGroup(2, 64)
    p.recvMultishot(b, g, pl)
    await sleep(5)
    expect(p.pending).toBe(4)
    p.close()
    expect(p.closed).toBe(true)
    expect(p.pending).toBe(0)
    expect(recv.events).toEqual([[-sys.ECANCELED, 0]])
    expect(tmo.events).toEqual([[-sys.ECANCELED, 0]])
    expect(pl.events).toEqual([[-sys.ECANCELED, 0], [-sys.ECANCELED, 0]])
    expect(g.available).toBe(0) // freed
    p.close()
    expect(() => p.nop(new Rec())).toThrow(/closed/)
    expect(() => p.socket(AF_INET, SOCK_STREAM, 0)).toThrow(/closed/)
    sys.close(a)
    sys.close(b)
    expect(fdCount()).toBe(before)
  })
})
