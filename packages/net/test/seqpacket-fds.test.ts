/**
 * Passing descriptors over SOCK_SEQPACKET (SCM_RIGHTS), on both backends:
 * real files opened by the test travel to the peer, which writes through its
 * copies; the received descriptors are close-on-exec and owned by the
 * receiver; too many descriptors is a clear error; nothing leaks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeSync, mkdtempSync, openSync, readFileSync, readlinkSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FdsTruncatedError, receivedFds, seqpacket, type SeqpacketChannel } from '@ringio/net'
import { getProactor, nop } from '@ringio/core/transport'
import { fdCount, until } from './helpers.js'

let n = 0
const abstract = (): string => `\0ringio-fds-test-${process.pid}-${process.env['RINGIO_BACKEND']}-${n++}`
const dir = mkdtempSync(join(tmpdir(), 'ringio-fds-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

// One full exchange first: the backend creates some descriptors lazily and keeps them
// (the poll backend's epoll set), which a leak count must not mistake for a leak.
beforeAll(async () => {
  const path = abstract()
  let server: SeqpacketChannel | null = null
  const sub = seqpacket.listen({ path }).subscribe((s) => {
    server = s
    s.messages$.subscribe({ complete: () => s.close() })
  })
  const ch = await seqpacket.connect({ path })
  await ch.send('warm-up')
  ch.close()
  await ch.closed
  // Every descriptor of the exchange closed before the tests count: the server's
  // side closes only after it saw EOF, and the listener's close rides in the next submission.
  await until(() => server !== null)
  await server!.closed
  sub.unsubscribe()
  await nop()
})

/** A server that hands each accepted channel to `onChannel`; resolves once listening. */
function serve(path: string, maxFds: number, onChannel: (ch: SeqpacketChannel) => void) {
  const sub = seqpacket.listen({ path, maxFds }).subscribe(onChannel)
  return { stop: () => sub.unsubscribe() }
}

/** The next message on `ch`, or its error. */
function nextMessage(ch: SeqpacketChannel): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sub = ch.messages$.subscribe({
      next: (m) => {
        sub.unsubscribe()
        resolve(m)
      },
      error: reject,
      complete: () => reject(new Error('channel completed')),
    })
  })
}

/** Waits until this process holds `want` fds again (closes complete asynchronously), then returns the count. */
async function settledFdCount(want: number): Promise<number> {
  await until(() => fdCount() === want).catch(() => {}) // the caller's expect shows the difference
  return fdCount()
}

function fdFlags(fd: number): number {
  const info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8')
  return parseInt(/flags:\s+([0-7]+)/.exec(info)![1]!, 8)
}
const O_CLOEXEC = 0o2000000

describe(`seqpacket descriptor passing (${process.env['RINGIO_BACKEND']})`, () => {
  it('passes several descriptors with one message, in order, close-on-exec, owned by the receiver', async () => {
    getProactor() // the ring and its eventfd exist before counting
    const before = fdCount()
    const path = abstract()
    let srv: { stop: () => void } | null = null
    const files = [0, 1, 2].map((i) => join(dir, `passed-${n}-${i}.txt`))
    const fds = files.map((f) => openSync(f, 'w'))
    let server: SeqpacketChannel | null = null
    const got = new Promise<Buffer>((resolve, reject) =>
      srv = serve(path, 4, (ch) => {
        server = ch
        nextMessage(ch).then(resolve, reject)
      })
    )
    const ch = await seqpacket.connect({ path })
    await ch.send('three files', { fds })
    for (const fd of fds) closeSync(fd) // ours: the peer has its own copies
    const msg = await got
    expect(msg.toString()).toBe('three files')
    const passed = receivedFds(msg)
    expect(passed.length).toBe(3)
    expect(receivedFds(msg)).toBe(passed) // asking twice: the same list
    passed.forEach((fd, i) => {
      expect(readlinkSync(`/proc/self/fd/${fd}`)).toBe(files[i])
      expect(fdFlags(fd) & O_CLOEXEC).toBe(O_CLOEXEC)
      writeSync(fd, `written through copy ${i}\n`)
      closeSync(fd)
    })
    files.forEach((f, i) => expect(readFileSync(f, 'utf8')).toBe(`written through copy ${i}\n`))
    expect(receivedFds(Buffer.from('x'))).toEqual([])
    ch.close()
    server!.close()
    await Promise.all([ch.closed, server!.closed])
    srv!.stop()
    expect(await settledFdCount(before)).toBe(before)
  })

  it('errors the channel with FdsTruncatedError when a message brings more than maxFds, leaking nothing', async () => {
    getProactor()
    const before = fdCount()
    const path = abstract()
    const file = join(dir, `many-${n}.txt`)
    const fds = Array.from({ length: 5 }, () => openSync(file, 'w'))
    let server: SeqpacketChannel | null = null
    let srv: { stop: () => void } | null = null
    const result = new Promise<unknown>((resolve) =>
      srv = serve(path, 2, (ch) => {
        server = ch
        nextMessage(ch).then(resolve, resolve)
      }),
    )
    const ch = await seqpacket.connect({ path })
    await ch.send('too many', { fds })
    const err = await result
    expect(err).toBeInstanceOf(FdsTruncatedError)
    expect((err as FdsTruncatedError).maxFds).toBe(2)
    await server!.closed
    for (const fd of fds) closeSync(fd)
    ch.close()
    await ch.closed
    srv!.stop()
    // The receiver closed the two copies that fit; the kernel dropped the rest.
    expect(await settledFdCount(before)).toBe(before)
  })

  it('without maxFds the message arrives and the kernel drops the descriptors', async () => {
    getProactor()
    const before = fdCount()
    const path = abstract()
    const fd = openSync(join(dir, `dropped-${n}.txt`), 'w')
    let server: SeqpacketChannel | null = null
    let srv: { stop: () => void } | null = null
    const got = new Promise<Buffer>((resolve, reject) => (srv = serve(path, 0, (s) => { server = s; nextMessage(s).then(resolve, reject) })))
    const ch = await seqpacket.connect({ path })
    await ch.send('no room', { fds: [fd] })
    const msg = await got
    expect(msg.toString()).toBe('no room')
    expect(receivedFds(msg)).toEqual([])
    closeSync(fd)
    ch.close()
    server!.close()
    srv!.stop()
    expect(await settledFdCount(before)).toBe(before)
  })

  it('checks fds at the call site; a closed descriptor fails only its own message', async () => {
    const path = abstract()
    const msgs: string[] = []
    serve(path, 1, (s) => s.messages$.subscribe((m) => msgs.push(m.toString())))
    const ch = await seqpacket.connect({ path })
    await expect(ch.send('x', { fds: [] })).rejects.toThrow(RangeError)
    await expect(ch.send('x', { fds: [-1] })).rejects.toThrow(TypeError)
    await expect(ch.send('x', { fds: 'no' as never })).rejects.toThrow(TypeError)
    const stale = openSync(join(dir, `stale-${n}.txt`), 'w')
    closeSync(stale)
    const r = await Promise.allSettled([ch.send('before'), ch.send('bad', { fds: [stale] }), ch.send('after')])
    expect(r[0].status).toBe('fulfilled')
    expect(r[1]).toMatchObject({ status: 'rejected', reason: { name: 'IoError', code: 'EBADF' } })
    expect(r[2].status).toBe('fulfilled')
    await until(() => msgs.length >= 2, 5000, 'both messages around the failed one')
    expect(msgs).toEqual(['before', 'after'])
    expect(() => seqpacket.listen({ path: abstract(), maxFds: 254 }).subscribe()).toThrow(RangeError)
    ch.close()
  })
})
