/**
 * The proactor contract the net tests lean on: a recv() asked with
 * MSG_DONTWAIT on a socket with nothing queued completes at once with
 * -EAGAIN, as io_uring does (a caller's MSG_DONTWAIT means "do not wait").
 * `peekQueued()` in helpers.ts relies on it to look into the kernel's queue.
 */
import { describe, expect, it } from 'vitest'
import { getProactor } from '@ringio/core/transport'
import { pair, peekQueued, within } from './helpers.js'

const MSG_PEEK = 0x2
const MSG_DONTWAIT = 0x40
const EAGAIN = 11

describe(`recv(MSG_DONTWAIT) (${process.env['RINGIO_BACKEND']})`, () => {
  it('completes at once with -EAGAIN when nothing is queued', async () => {
    const { server, stop } = await pair()
    try {
      const buf = Buffer.alloc(64)
      const res = new Promise<number>((resolve) => getProactor().start({ kind: 'recv', fd: server.fd, buf, flags: MSG_DONTWAIT }, { complete: (r) => resolve(r) }))
      expect(await within(res, 1000, 'recv(MSG_DONTWAIT) on an empty socket to complete')).toBe(-EAGAIN)
      const peek = new Promise<number>((resolve) => getProactor().start({ kind: 'recv', fd: server.fd, buf, flags: MSG_PEEK | MSG_DONTWAIT }, { complete: (r) => resolve(r) }))
      expect(await within(peek, 1000, 'recv(MSG_PEEK | MSG_DONTWAIT) on an empty socket to complete')).toBe(-EAGAIN)
    } finally {
      stop()
    }
  })

  it('peeks what is queued without consuming it', async () => {
    const { client, server, stop } = await pair()
    try {
      await client.write('0123456789')
      await new Promise((r) => setTimeout(r, 20))
      expect(await within(peekQueued(server.fd), 1000, 'the peek')).toBe(10)
      expect(await within(peekQueued(server.fd), 1000, 'the second peek')).toBe(10)
    } finally {
      stop()
    }
  })
})
