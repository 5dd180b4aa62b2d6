/**
 * The provided-buffer ring starts small and grows with demand: the kernel
 * takes buffers in ring order, so a light load must cycle through a few of
 * them (a few pages resident), while a burst wider than the ring still gets a
 * buffer per receive, with nothing lost. io_uring only.
 */
import { describe, expect, it } from 'vitest'
import { IORING_CQE_BUFFER_SHIFT } from './abi.js'
import { UringProactor } from './uring-proactor.js'
import * as sys from '../poll/sys.js'
import { closeSync } from '../sys/socket.js'
import { socketPair } from '../../test/helpers/fds.js'

const STREAM = 1

describe.runIf(process.env['RINGIO_BACKEND'] !== 'poll')('BufferRing', () => {
  it('a light load cycles through the first buffers only; a burst of 300 receives grows the ring and loses nothing', async () => {
    const p = new UringProactor()
    const fds: number[] = []
    try {
      const g = p.bufferGroup(1024, 4096)
      const used = new Set<number>()
      // One receive at a time, 500 times: buffers are taken and given back one by one.
      const [a, b] = socketPair(STREAM, fds)
      for (let i = 0; i < 500; i++) {
        sys.write(b, Buffer.alloc(100, i & 0xff), 100)
        const [res, flags] = await new Promise<[number, number]>((resolve) => p.start({ kind: 'recvMultishot', fd: a, group: g }, { complete: (r, f) => resolve([r, f]) }))
        expect(res).toBe(100)
        const bid = flags >>> IORING_CQE_BUFFER_SHIFT
        used.add(bid)
        g.release(bid)
      }
      expect(Math.max(...used)).toBeLessThan(64) // the initial ring, never grown

      // 300 sockets with data waiting, all received before any buffer goes back: 300 buffers out at once.
      const pairs = Array.from({ length: 300 }, () => socketPair(STREAM, fds))
      for (const [, w] of pairs) sys.write(w, Buffer.alloc(10, 7), 10)
      const results: number[] = []
      const held: number[] = []
      await new Promise<void>((resolve) => {
        for (const [r] of pairs) {
          const arm = (): void => {
            p.start({ kind: 'recvMultishot', fd: r, group: g }, {
              complete: (res, flags) => {
                if (res === -105) return void (g.available > 0 ? arm() : g.onRelease(arm)) // ENOBUFS: as SocketReader does
                results.push(res)
                held.push(flags >>> IORING_CQE_BUFFER_SHIFT)
                if (results.length === pairs.length) resolve()
              },
            })
          }
          arm()
        }
      })
      expect(results.every((r) => r === 10)).toBe(true)
      expect(new Set(held).size).toBe(300) // 300 distinct buffers out at once: the ring grew past 64
      for (const bid of held) g.release(bid)
      expect(g.available).toBe(1024)
    } finally {
      for (const fd of fds) closeSync(fd)
      p.shutdown()
    }
  })
})
