import { closeSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { makePipe, type Pipe } from '../test/helpers/fifo.js'
import { fdFlags as flags, keepsStdioFlags } from '../test/helpers/stdio-flags.js'
import { output } from './output.js'


describe('Writer on a pipe (in process)', () => {
  keepsStdioFlags()
  let p: Pipe | undefined
  afterEach(() => {
    p?.close()
    p = undefined
  })

  it('writes in call order without awaiting, flush() covers them all, the shared description is untouched', async () => {
    p = makePipe()
    const before = flags(p.w)
    const w = output(p.w, { shared: true })
    const parts: Buffer[] = []
    for (let i = 0; i < 200; i++) parts.push(Buffer.alloc(1 + ((i * 977) % 9000), i))
    for (const b of parts) void w.write(b)
    void w.write('') // an empty write must not settle flush() early
    const expected = Buffer.concat(parts)
    const got = p.readN(expected.length, 4096, 0)
    await w.flush()
    expect((await got).equals(expected)).toBe(true)
    expect(w.writableLength).toBe(0)
    expect(flags(p.w)).toBe(before)
    await w.end()
    const fresh = output(p.w, { shared: true })
    expect(fresh).not.toBe(w) // retired: a fresh writer next time
    await fresh.end()
  })

  it('ready() waits below the high-water mark', async () => {
    p = makePipe()
    const w = output(p.w, { shared: true, highWaterMark: 1024 })
    void w.write(Buffer.alloc(4096))
    expect(w.writable).toBe(false)
    let ready = false
    const r = w.ready().then(() => (ready = true))
    await new Promise((res) => setTimeout(res, 20))
    await p.readN(4096, 4096, 0)
    await r
    expect(ready).toBe(true)
    await w.end()
  })

  it('a failed write never goes unhandled: EPIPE surfaces in flush() and every later write', async () => {
    p = makePipe()
    const w = output(p.w, { shared: true })
    p.close() // closes both ends: writing now fails with EPIPE (or EBADF, the fd is gone)
    void w.write('lost')
    await expect(w.flush()).rejects.toMatchObject({ name: 'IoError', op: 'write' })
    await expect(w.write('again')).rejects.toMatchObject({ name: 'IoError' })
    expect(w.closed).toBe(true)
  })

  it("after a failure (EPIPE, onEpipe 'error': the default above fd 2) ready() rejects with the writer's IoError — a waiting one too — and later writes at once, queueing nothing", async () => {
    const pipe = makePipe()
    try {
      const w = output(pipe.w, { shared: true, highWaterMark: 1024 })
      expect(w.onEpipe).toBe('error')
      void w.write(Buffer.alloc(100_000)) // more than the pipe holds: still queued when the reader leaves
      expect(w.writable).toBe(false)
      const waiting = w.ready()
      await new Promise((r) => setTimeout(r, 20))
      closeSync(pipe.r)
      const err: unknown = await w.flush().catch((e: unknown) => e)
      expect(err).toMatchObject({ name: 'IoError', code: 'EPIPE', op: 'write' })
      await expect(waiting).rejects.toBe(err)
      await expect(w.ready()).rejects.toBe(err)
      const later = w.write(Buffer.alloc(8192))
      expect(w.writableLength).toBe(0)
      await expect(later).rejects.toBe(err)
      await expect(w.end()).rejects.toBe(err)
    } finally {
      closeSync(pipe.w)
    }
  })

  it('onEpipe: fds 1 and 2 default to exit, others to error; a later call that gives it changes the writer', async () => {
    p = makePipe()
    const w = output(p.w, { shared: true })
    expect(w.onEpipe).toBe('error')
    expect(output(p.w, { shared: true, onEpipe: 'exit' })).toBe(w)
    expect(w.onEpipe).toBe('exit')
    expect(output(p.w, { shared: true }).onEpipe).toBe('exit') // not given: unchanged
    w.onEpipe = 'error'
    await w.end()
    expect(output(p.w, { shared: true }).onEpipe).toBe('error') // a fresh writer for an fd above 2: the default
    await output(p.w, { shared: true }).end()
  })

  it('rejects bad arguments at the call site', () => {
    expect(() => output(-1, { shared: true })).toThrow(TypeError)
    expect(() => output(3, {} as never)).toThrow(/shared/)
    p = makePipe()
    const w = output(p.w, { shared: true })
    expect(() => w.write(42 as never)).toThrow(TypeError)
    expect(() => output(p!.w, { shared: false })).toThrow(/shared/)
  })
})
