import { closeSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import * as sys from './sys.js'
import { statusFlags } from '../sys/fd-flags.js'
import { blockingPipe, nonblock, otherProject, pollProactor, Rec } from '../../test/helpers/poll-fixtures.js'

describe.skipIf(otherProject)('poll proactor: files and blocking fds', () => {
  it('preads and pwrites a real file through the threadpool', async () => {
    const p = pollProactor()
    const path = `/var/tmp/ringio-poll-${process.pid}.bin`
    const op = new Rec()
    p.start({ kind: 'openat', dirfd: -100, path: Buffer.from(`${path}\0`), flags: 0o102 | sys.O_CLOEXEC, mode: 0o600 }, op) // O_RDWR|O_CREAT
    const [fd] = await op.first()
    expect(fd).toBeGreaterThanOrEqual(0)
    try {
      const w = new Rec()
      p.start({ kind: 'write', fd, buf: Buffer.from('hello, world'), offset: 4096 }, w)
      expect(await w.first()).toEqual([12, 0])
      const wv = new Rec()
      p.start({ kind: 'writev', fd, bufs: [Buffer.from('ab'), Buffer.from('cd')], offset: 0 }, wv)
      expect(await wv.first()).toEqual([4, 0])
      const s = new Rec()
      p.start({ kind: 'fsync', fd, datasync: true }, s)
      expect(await s.first()).toEqual([0, 0])
      const buf = Buffer.alloc(12)
      const r = new Rec()
      p.start({ kind: 'read', fd, buf, offset: 4096 }, r)
      expect(await r.first()).toEqual([12, 0])
      expect(buf.toString()).toBe('hello, world')
      const v1 = Buffer.alloc(1)
      const v2 = Buffer.alloc(3)
      const rv = new Rec()
      p.start({ kind: 'readv', fd, bufs: [v1, v2], offset: 0 }, rv)
      expect(await rv.first()).toEqual([4, 0])
      expect(`${v1}${v2}`).toBe('abcd')
      expect(readFileSync(path).subarray(4096).toString()).toBe('hello, world')
      // A regular file cannot be polled (epoll: EPERM): poll reports it ready, as poll(2) does.
      const pl = new Rec()
      p.start({ kind: 'poll', fd, events: sys.POLLIN, multishot: false }, pl)
      expect(await pl.first()).toEqual([sys.POLLIN, 0])
    } finally {
      const c = new Rec()
      p.start({ kind: 'close', fd }, c)
      expect(await c.first()).toEqual([0, 0])
      unlinkSync(path)
    }
  })

  it('reads a blocking pipe on the threadpool and never sets O_NONBLOCK on it', async () => {
    const p = pollProactor()
    const [r, w] = blockingPipe()
    expect(nonblock(r)).toBe(0)
    const buf = Buffer.alloc(64)
    const rd = new Rec()
    p.start({ kind: 'read', fd: r, buf, offset: -1 }, rd)
    await sleep(20)
    expect(rd.events).toEqual([]) // blocked in a worker, not on the JS thread
    const wr = new Rec()
    p.start({ kind: 'write', fd: w, buf: Buffer.from('hello'), offset: -1 }, wr)
    expect(await wr.first()).toEqual([5, 0])
    expect(await rd.first()).toEqual([5, 0])
    expect(buf.toString('utf8', 0, 5)).toBe('hello')

    // A read on a blocking pipe waits for readiness in the reactor first, so a
    // cancel ends it at once and consumes nothing: no worker stays stuck in read(2).
    const rd2 = new Rec()
    p.cancel(p.start({ kind: 'read', fd: r, buf, offset: -1 }, rd2))
    expect(await rd2.first()).toEqual([-125, 0])
    expect(sys.write(w, Buffer.from('late'), 4)).toBe(4)
    const rd3 = new Rec()
    p.start({ kind: 'read', fd: r, buf, offset: -1 }, rd3)
    expect(await rd3.first()).toEqual([4, 0])
    expect(buf.toString('utf8', 0, 4)).toBe('late')

    expect(nonblock(r)).toBe(0)
    expect(nonblock(w)).toBe(0)
    sys.close(r)
    sys.close(w)
  })

  it('reads a file opened by node (blocking) without touching its flags', async () => {
    const p = pollProactor()
    const path = `/var/tmp/ringio-poll-node-${process.pid}.txt`
    writeFileSync(path, 'from node')
    const fd = openSync(path, 'r')
    const flags = statusFlags(fd)
    const buf = Buffer.alloc(9)
    const rd = new Rec()
    p.start({ kind: 'read', fd, buf, offset: -1 }, rd)
    expect(await rd.first()).toEqual([9, 0])
    expect(buf.toString()).toBe('from node')
    expect(statusFlags(fd)).toBe(flags)
    closeSync(fd)
    unlinkSync(path)
  })
})
