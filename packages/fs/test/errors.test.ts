import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { getProactor, IoError } from '@ringio/core/transport'
import { open } from '@ringio/fs'
import { BACKEND, fdCount, scratchDir } from './helpers.js'

const path = scratchDir()
const isRoot = process.getuid?.() === 0

describe(`errors and lifetime (${BACKEND})`, () => {
  it('ENOENT for a missing file', async () => {
    const err = await open(path('missing/nope.txt'), 'r').catch((e: unknown) => e)
    expect(IoError.is(err)).toBe(true)
    expect(err).toMatchObject({ code: 'ENOENT', errno: 2, op: 'open', handle: path('missing/nope.txt') })
  })

  it('EEXIST for "wx" on an existing file', async () => {
    writeFileSync(path('exists.txt'), 'x')
    await expect(open(path('exists.txt'), 'wx')).rejects.toMatchObject({ code: 'EEXIST' })
  })

  it('EISDIR for a directory opened for writing, or read', async () => {
    mkdirSync(path('dir'))
    await expect(open(path('dir'), 'r+')).rejects.toMatchObject({ code: 'EISDIR', op: 'open' })
    await expect(open(path('dir'), 'w')).rejects.toMatchObject({ code: 'EISDIR' })
    const d = await open(path('dir'), 'r')
    await expect(d.read(Buffer.alloc(16), 0)).rejects.toMatchObject({ code: 'EISDIR', op: 'read', handle: path('dir') })
    await d.close()
  })

  // Root bypasses file permissions (CAP_DAC_OVERRIDE), but not a read-only
  // sysctl: procfs refuses write opens of 0444 /proc/sys files even to root.
  it('EACCES without permission', async () => {
    if (isRoot) {
      await expect(open('/proc/sys/kernel/osrelease', 'r+')).rejects.toMatchObject({ code: 'EACCES', op: 'open' })
    } else {
      writeFileSync(path('private.txt'), 'secret')
      chmodSync(path('private.txt'), 0)
      await expect(open(path('private.txt'), 'r')).rejects.toMatchObject({ code: 'EACCES' })
    }
  })

  it('EBADF for a write on a read-only file', async () => {
    writeFileSync(path('ro.txt'), 'abc')
    const f = await open(path('ro.txt'), 'r')
    await expect(f.write('x', 0)).rejects.toMatchObject({ code: 'EBADF', op: 'write', handle: path('ro.txt') })
    await f.close()
  })

  it('close is idempotent; later operations reject with EBADF without reaching the kernel', async () => {
    const f = await open(path('closed.txt'), 'w+')
    const fd = f.fd
    expect(fd).toBeGreaterThan(2)
    const c1 = f.close()
    expect(f.close()).toBe(c1)
    expect(f.closed).toBe(true)
    expect(f.fd).toBe(-1)
    await c1
    await f.close()
    const pending = getProactor().pending
    const ops = [f.read(Buffer.alloc(4), 0), f.write('x', 0), f.readv([Buffer.alloc(1)], 0), f.writev([Buffer.alloc(1)], 0),
      f.append('x'), f.stat(), f.truncate(0), f.sync(), f.datasync(), f.allocate(0, 1)]
    expect(getProactor().pending).toBe(pending)
    for (const r of await Promise.allSettled(ops)) {
      expect(r.status).toBe('rejected')
      expect((r as PromiseRejectedResult).reason).toMatchObject({ name: 'IoError', code: 'EBADF', handle: path('closed.txt') })
    }
  })

  it('close waits for operations in flight, which complete normally', async () => {
    const f = await open(path('inflight.bin'), 'w+')
    const writes = Array.from({ length: 200 }, (_, i) => f.write(Buffer.alloc(4096, i), i * 4096))
    const closed = f.close()
    await expect(f.write('late', 0)).rejects.toMatchObject({ code: 'EBADF' })
    expect(await Promise.all(writes)).toEqual(writes.map(() => 4096))
    await closed
    const g = await open(path('inflight.bin'), 'r')
    expect((await g.stat()).size).toBe(200 * 4096)
    await g.close()
  })

  it('an aborted operation rejects with the signal reason', async () => {
    const f = await open(path('abort.bin'), 'w+')
    const ac = new AbortController()
    ac.abort()
    await expect(f.write('x', 0, { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' })
    await expect(open(path('abort2.bin'), 'w', { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' })
    await f.close()
  })

  it('aborting many operations in flight or queued settles every one: done, or rejected with the reason', async () => {
    const f = await open(path('abort-many.bin'), 'w+')
    const ac = new AbortController()
    const ops = Array.from({ length: 5000 }, (_, i) => f.write(Buffer.alloc(512, 1), i * 512, { signal: ac.signal }))
    ac.abort()
    const res = await Promise.allSettled(ops)
    for (const r of res) {
      if (r.status === 'fulfilled') expect(r.value).toBe(512)
      else expect(r.reason).toMatchObject({ name: 'AbortError' })
    }
    // The poll backend runs file writes on the threadpool, and those beyond koffi's budget of async
    // calls wait in core's FIFO, where the abort ends them. io_uring does buffered writes inline as
    // they are submitted, ahead of the cancels: there the writes win the race, and that is right.
    if (getProactor().backend === 'poll') expect(res.some((r) => r.status === 'rejected')).toBe(true)
    await f.close()
  })

  it('aborting reads the kernel holds in flight rejects every one with the reason', async () => {
    // A FIFO opened read-write never sees EOF: each read waits in the kernel (or the reactor) for data.
    execFileSync('mkfifo', [path('abort.fifo')])
    const f = await open(path('abort.fifo'), 'r+')
    const ac = new AbortController()
    const ops = Array.from({ length: 500 }, () => f.read(Buffer.alloc(16), 0, { signal: ac.signal }))
    await sleep(20)
    ac.abort()
    for (const r of await Promise.allSettled(ops)) {
      expect(r.status).toBe('rejected')
      expect((r as PromiseRejectedResult).reason).toMatchObject({ name: 'AbortError' })
    }
    await f.close()
  })

  it('bad arguments throw at the call site', async () => {
    const f = await open(path('args.bin'), 'w+')
    expect(() => f.read('x' as unknown as Buffer, 0)).toThrow(TypeError)
    expect(() => f.write(Buffer.alloc(1), -1)).toThrow(RangeError)
    expect(() => f.write(Buffer.alloc(1), 1.5)).toThrow(TypeError)
    expect(() => f.readv([], 0)).toThrow(TypeError)
    expect(() => open(path('x'), 'rw' as 'r')).toThrow(TypeError)
    expect(() => open('', 'r')).toThrow(TypeError)
    await f.close()
  })

  it('1000 open/close cycles leave no fd behind', async () => {
    writeFileSync(path('cycle.txt'), 'cycle')
    await (await open(path('cycle.txt'), 'r+')).close() // warm up: lazily created backend fds
    const before = fdCount()
    for (let i = 0; i < 1000; i++) {
      const f = await open(path('cycle.txt'), i % 2 === 0 ? 'r' : 'r+')
      if (i % 10 === 0) await f.read(Buffer.alloc(5), 0)
      await f.close()
    }
    // Concurrently too.
    const files = await Promise.all(Array.from({ length: 200 }, () => open(path('cycle.txt'), 'r')))
    expect(fdCount()).toBeGreaterThanOrEqual(before + 200)
    await Promise.all(files.map((f) => f.close()))
    expect(fdCount()).toBe(before)
  })
})
