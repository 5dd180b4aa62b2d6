import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { IORING_CQE_F_BUFFER } from '../uring/abi.js'
import * as sys from './sys.js'
import type { PollBufferGroup } from './buffer-group.js'
import { bind, closeSync, listen, sockName } from '../sys/socket.js'
import { loopbackSockaddr as sin } from '../../test/helpers/core-fixtures.js'
import { AF_INET, MORE, otherProject, pollProactor, Rec, SOCK_STREAM, socketPair } from '../../test/helpers/poll-fixtures.js'


describe.skipIf(otherProject)('poll proactor: sockets', () => {
  it('echoes 4 MiB over TCP with 4 x 4 KiB buffers through a dry pool', async () => {
    const p = pollProactor()
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
      p.start({ kind: 'send', fd: srv, buf: group.view(head.bid, head.len).subarray(head.off), flags: 0 }, {
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
      p.start({ kind: 'recvMultishot', fd: srv, group }, {
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
    const acceptId = p.start({ kind: 'accept', fd: lfd, multishot: true }, {
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
    p.start({ kind: 'connect', fd: cfd, addr: sin(port) }, conn)
    expect(await conn.first()).toEqual([0, 0])
    const data = randomBytes(4 << 20)
    const back = Buffer.alloc(data.length)
    const sent = new Promise<void>((resolve, reject) => {
      const go = (off: number): void => {
        if (off === data.length) return resolve()
        p.start({ kind: 'send', fd: cfd, buf: data.subarray(off), flags: 0 }, { complete: (res) => (res > 0 ? go(off + res) : reject(new Error(`send ${res}`))) })
      }
      go(0)
    })
    const received = new Promise<void>((resolve, reject) => {
      const go = (got: number): void => {
        if (got === back.length) return resolve()
        p.start({ kind: 'recv', fd: cfd, buf: back.subarray(got), flags: 0 }, { complete: (res) => (res > 0 ? go(got + res) : reject(new Error(`recv ${res}`))) })
      }
      go(0)
    })
    await Promise.all([sent, received])
    expect(back.equals(data)).toBe(true)
    // The pool ran dry: a send's completion was pending each time, so the receive
    // waited for the delivery (dryGroup) rather than ending with ENOBUFS.
    expect((group as PollBufferGroup).dryTakes).toBeGreaterThan(0)

    // Orderly shutdown: the server's multishot recv ends with EOF (0, no flags) and every buffer is back.
    const sh = new Rec()
    p.start({ kind: 'shutdown', fd: cfd, how: 1 }, sh)
    expect(await sh.first()).toEqual([0, 0])
    expect(await serverDone.first()).toEqual([0, 0])
    expect(group.available).toBe(4)
    const acc = new Rec()
    p.cancel(acceptId)
    for (const fd of [srv, cfd, lfd]) p.start({ kind: 'close', fd }, acc)
    await acc.upTo(3)
    expect(acc.events).toEqual([[0, 0], [0, 0], [0, 0]])
    expect(p.pending).toBe(0)
  })

  it('a dry pool with nothing left to deliver ends the receive with ENOBUFS; it re-arms once a buffer is back, nothing lost', async () => {
    const p = pollProactor()
    const [a, b] = socketPair()
    const group = p.bufferGroup(2, 4096)
    const data = randomBytes(64 * 1024)
    expect(sys.result(sys.send(b, data, data.length, 0))).toBe(data.length)
    const held: number[] = []
    const got: Buffer[] = []
    let enobufs = 0
    let done = false
    const arm = (): void => {
      p.start({ kind: 'recvMultishot', fd: a, group }, {
        complete(res, flags) {
          if (res === -sys.ENOBUFS) {
            expect(flags).toBe(0)
            enobufs++
            group.onRelease(arm)
            // Nothing is pending now: the buffers come back only when we give them.
            setTimeout(() => held.splice(0).forEach((bid) => group.release(bid)), 5)
          } else if (res > 0) {
            const bid = flags >>> 16
            got.push(Buffer.from(group.view(bid, res)))
            held.push(bid) // kept: the pool stays dry
            if (Buffer.concat(got).length === data.length) {
              done = true
              held.splice(0).forEach((x) => group.release(x))
            }
          }
        },
      })
    }
    arm()
    for (let i = 0; i < 500 && !done; i++) await sleep(2)
    expect(done).toBe(true)
    expect(Buffer.concat(got).equals(data)).toBe(true)
    expect(enobufs).toBeGreaterThan(0)
    expect(group.available).toBe(2)
    const c = new Rec()
    for (const fd of [a, b]) p.start({ kind: 'close', fd }, c)
    await c.upTo(2)
    expect(p.pending).toBe(0)
  })

  it('keeps an idle fd\'s poll handle (stopped) until the fd is closed, by the close op or by closeSync', async () => {
    const p = pollProactor()
    const readiness = (p as unknown as { readiness: { watching(fd: number): boolean } }).readiness
    const [a, b] = socketPair()
    const [c, d] = socketPair()
    for (const [fd, peer] of [[a, b], [c, d]] as const) {
      // A receive that has to wait opens the fd's handle; once it completed, nothing waits.
      const got = new Rec()
      p.start({ kind: 'recv', fd, buf: Buffer.alloc(4), flags: 0 }, got)
      await sleep(5)
      expect(sys.result(sys.send(peer, Buffer.from('x'), 1, 0))).toBe(1)
      expect(await got.first()).toEqual([1, 0])
      expect(readiness.watching(fd)).toBe(true) // idle: the handle stays, stopped
    }
    const closed = new Rec()
    p.start({ kind: 'close', fd: a }, closed)
    expect(await closed.first()).toEqual([0, 0])
    expect(readiness.watching(a)).toBe(false)
    // closeSync (error paths, a losing happy-eyeballs attempt): the fd number may come back as another file.
    closeSync(c)
    expect(readiness.watching(c)).toBe(false)
    for (const fd of [b, d]) sys.close(fd)
    expect(p.pending).toBe(0)
  })

  it('reports a refused connect as -ECONNREFUSED', async () => {
    const p = pollProactor()
    const probe = p.socket(AF_INET, SOCK_STREAM, 0)
    bind(probe, sin(0)) // a port that is bound but not listening
    const name = sockName(probe)
    const fd = p.socket(AF_INET, SOCK_STREAM, 0)
    const c = new Rec()
    p.start({ kind: 'connect', fd, addr: sin(name.readUInt16BE(2)) }, c)
    expect(await c.first()).toEqual([-111, 0])
    sys.close(fd)
    sys.close(probe)
  })

  it('cancels a pending recv, and close(fd) fails the ops pending on it first', async () => {
    const p = pollProactor()
    const [a, b] = socketPair()
    const r1 = new Rec()
    const id = p.start({ kind: 'recv', fd: a, buf: Buffer.alloc(16), flags: 0 }, r1)
    await sleep(10)
    expect(r1.events).toEqual([])
    p.cancel(id)
    expect(await r1.first()).toEqual([-sys.ECANCELED, 0])

    const order: string[] = []
    p.start({ kind: 'recv', fd: a, buf: Buffer.alloc(16), flags: 0 }, { complete: (res) => order.push(`recv ${res}`) })
    p.start({ kind: 'poll', fd: a, events: sys.POLLIN, multishot: true }, { complete: (res) => order.push(`poll ${res}`) })
    const cl = new Rec()
    p.start({ kind: 'close', fd: a }, { complete: (res, f) => (order.push(`close ${res}`), cl.complete(res, f)) })
    await cl.first()
    expect(order).toEqual([`recv ${-sys.ECANCELED}`, `poll ${-sys.ECANCELED}`, 'close 0'])
    expect(p.pending).toBe(0)
    sys.close(b)
  })

  it('polls for readiness, once and multishot', async () => {
    const p = pollProactor()
    const [a, b] = socketPair()
    const once = new Rec()
    p.start({ kind: 'poll', fd: a, events: sys.POLLIN, multishot: false }, once)
    await sleep(5)
    expect(once.events).toEqual([])
    expect(sys.write(b, Buffer.from('x'), 1)).toBe(1)
    const [res, flags] = await once.first()
    expect(res & sys.POLLIN).toBe(sys.POLLIN)
    expect(flags).toBe(0)

    // Multishot is edge-triggered, as io_uring's: once now (writable), then once per new wakeup.
    const multi = new Rec()
    const id = p.start({ kind: 'poll', fd: a, events: sys.POLLOUT, multishot: true }, multi)
    await multi.upTo(1)
    await sleep(20)
    expect(multi.events).toEqual([[sys.POLLOUT, MORE]])
    expect(sys.write(a, Buffer.from('y'), 1)).toBe(1)
    expect(sys.read(b, Buffer.alloc(8), 8)).toBe(1) // frees a's send room: a write wakeup
    await multi.upTo(2)
    expect(multi.events.slice(0, 2)).toEqual([[sys.POLLOUT, MORE], [sys.POLLOUT, MORE]])
    p.cancel(id)
    await new Promise<void>((r) => p.start({ kind: 'nop' }, { complete: () => r() }))
    expect(multi.events.at(-1)).toEqual([-sys.ECANCELED, 0])
    sys.close(a)
    sys.close(b)
  })
})
