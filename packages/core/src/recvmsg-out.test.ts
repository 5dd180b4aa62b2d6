/**
 * Multishot recvmsg into the buffer pool, parsed with `parseRecvmsgOut` (the `io_uring_recvmsg_out` layout).
 * On whichever backend the vitest project selects (`RINGIO_BACKEND`), through the public API, against the real kernel.
 */
import { describe, expect, it } from 'vitest'
import { backend, getProactor, IoError, IORING_CQE_BUFFER_SHIFT, IORING_CQE_F_BUFFER, IORING_CQE_F_MORE, addressOf as addressOfBuf, parseRecvmsgOut, sockets, type Completion } from './transport.js'
import { BACKEND } from '../test/helpers/fds.js'
import { ENOBUFS } from './sys/errno.js'
import { loopbackSockaddr, until } from '../test/helpers/core-fixtures.js'


describe(`recvmsg-out on the ${BACKEND} backend`, () => {
  describe('multishot recvmsg', () => {
    const AF_INET = 2
    const SOCK_DGRAM = 2
    const MSG_TRUNC = 0x20
    const sockaddrIn = loopbackSockaddr
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
        opId = p.start({ kind: 'recvmsgMultishot', fd: rx, msg, flags: MSG_TRUNC, group }, target)
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
            p.start({ kind: 'sendmsg', fd: tx, msg: hdr, flags: 0, keep: [data, iov, to] }, { complete: (r) => (r === n ? resolve() : reject(new Error(`sendmsg ${r}`))) }),
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
        await Promise.all([rx, tx].map((fd) => new Promise<void>((resolve) => p.start({ kind: 'close', fd }, { complete: () => resolve() }))))
        group.close()
      }
    })
  })
})
