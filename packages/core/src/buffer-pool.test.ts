/**
 * The shared read-buffer pool: a multishot receive that runs it dry (ENOBUFS) loses nothing.
 * On whichever backend the vitest project selects (`RINGIO_BACKEND`), through the public API, against the real kernel.
 */
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { getProactor, IoError, IORING_CQE_BUFFER_SHIFT, IORING_CQE_F_BUFFER, IORING_CQE_F_MORE, type Completion } from './transport.js'
import { BACKEND } from '../test/helpers/fds.js'
import { ENOBUFS } from './sys/errno.js'
import { tcpPair, until } from '../test/helpers/core-fixtures.js'


describe(`buffer-pool on the ${BACKEND} backend`, () => {
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
          p.start({ kind: 'recvMultishot', fd: a, group }, target)
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

})
