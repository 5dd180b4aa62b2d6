import { describe, expect, it } from 'vitest'
import { firstValueFrom, take, toArray } from 'rxjs'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { MessageTruncatedError } from '@ringio/core/transport'
import { seqpacket, type SeqpacketChannel } from '@ringio/net'
import { fdCount } from './helpers.js'

let n = 0
const abstract = (): string => `\0ringio-seqpacket-test-${process.pid}-${process.env['RINGIO_BACKEND']}-${n++}`

function echo(path: string, opts: { maxMessage?: number } = {}) {
  const conns: SeqpacketChannel[] = []
  const sub = seqpacket.listen({ path, ...opts }).subscribe((ch) => {
    conns.push(ch)
    ch.messages$.subscribe({ next: (m) => void ch.send(m), complete: () => ch.close(), error: () => ch.close() })
  })
  return { conns, stop: () => sub.unsubscribe() }
}

function sizes(count: number): number[] {
  let s = 7
  const next = (): number => (s = (s * 1103515245 + 12345) % 2 ** 31)
  return Array.from({ length: count }, (_, i) => (i % 40 === 0 ? 0 : next() % 89 === 0 ? 20_000 + (next() % 40_000) : next() % 2000))
}

describe(`seqpacket (${process.env['RINGIO_BACKEND']})`, () => {
  it('keeps the boundaries of 10 000 messages of random sizes, empty ones included', async () => {
    const path = abstract()
    const srv = echo(path)
    const ch = await seqpacket.connect({ path })
    const plan = sizes(10_000)
    const all: Buffer[] = []
    const done = new Promise<void>((resolve, reject) => {
      ch.messages$.subscribe({ next: (m) => { if (all.push(m) === plan.length) resolve() }, error: reject })
    })
    await Promise.all(plan.map((size, i) => ch.send(Buffer.alloc(size, i & 0xff))))
    await done
    expect(all.length).toBe(plan.length)
    all.forEach((m, i) => {
      expect(m.length).toBe(plan[i])
      if (m.length > 0) expect(m[0]).toBe(i & 0xff)
    })
    ch.close()
    await ch.closed
    srv.stop()
  })

  it('tells an empty message from EOF', async () => {
    const path = abstract()
    const got = new Promise<Buffer[]>((resolve) => {
      const sub = seqpacket.listen({ path }).subscribe((ch) =>
        ch.messages$.pipe(toArray()).subscribe((all) => {
          resolve(all)
          ch.close()
          sub.unsubscribe()
        }),
      )
    })
    const ch = await seqpacket.connect({ path })
    void ch.send('')
    void ch.send('')
    void ch.send('x')
    void ch.send('')
    ch.close() // sends are flushed first, then the peer sees EOF
    expect((await got).map((b) => b.toString())).toEqual(['', '', 'x', ''])
  })

  it('errors with MessageTruncatedError for a message over maxMessage, nothing before it lost', async () => {
    const path = abstract()
    const got = new Promise<{ msgs: string[]; err: unknown }>((resolve) => {
      const msgs: string[] = []
      const sub = seqpacket.listen({ path, maxMessage: 64 }).subscribe((ch) =>
        ch.messages$.subscribe({ next: (m) => msgs.push(m.toString()), error: (err) => { resolve({ msgs, err }); sub.unsubscribe() } }),
      )
    })
    const ch = await seqpacket.connect({ path })
    await ch.send('a')
    await ch.send('b')
    await ch.send(Buffer.alloc(1000))
    const { msgs, err } = await got
    expect(msgs).toEqual(['a', 'b'])
    expect(MessageTruncatedError.is(err)).toBe(true)
    expect((err as MessageTruncatedError).size).toBe(1000)
    ch.close()
  })

  it('rejects a send on a closed channel with EPIPE; close() delivers what was accepted', async () => {
    const path = abstract()
    const srv = echo(path)
    const ch = await seqpacket.connect({ path })
    const replies = firstValueFrom(ch.messages$.pipe(take(3), toArray()))
    const accepted = [ch.send('1'), ch.send('2'), ch.send('3')]
    await Promise.all(accepted)
    expect((await replies).map(String)).toEqual(['1', '2', '3'])
    ch.close()
    await expect(ch.send('4')).rejects.toMatchObject({ code: 'EPIPE' })
    await ch.closed
    srv.stop()
  })

  it('works on a filesystem path, removes a stale socket file, refuses a live one, cleans up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringio-sp-'))
    const path = join(dir, 's.sock')
    // A stale socket file: bound by a process that is gone.
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.exit(0))`])
    expect(existsSync(path)).toBe(true)
    const srv = echo(path)
    await new Promise((r) => setTimeout(r, 50))
    const ch = await seqpacket.connect({ path })
    const reply = firstValueFrom(ch.messages$)
    await ch.send('over a file')
    expect((await reply).toString()).toBe('over a file')
    // A live one: EADDRINUSE.
    const second = new Promise((resolve) => seqpacket.listen({ path }).subscribe({ error: resolve }))
    expect(await second).toMatchObject({ code: 'EADDRINUSE' })
    ch.close()
    srv.stop()
    expect(existsSync(path)).toBe(false)
    // Not a socket at all: never removed.
    writeFileSync(path, 'data')
    const third = new Promise((resolve) => seqpacket.listen({ path }).subscribe({ error: resolve }))
    expect(await third).toMatchObject({ code: 'EADDRINUSE' })
    expect(existsSync(path)).toBe(true)
  })

  it('leaves no fd behind after 200 connections', async () => {
    const path = abstract()
    const srv = echo(path)
    const before = fdCount()
    for (let i = 0; i < 200; i++) {
      const ch = await seqpacket.connect({ path })
      const r = firstValueFrom(ch.messages$)
      await ch.send('x')
      await r
      ch.close()
      await ch.closed
    }
    await new Promise((r) => setTimeout(r, 50))
    await Promise.all(srv.conns.map((c) => c.closed))
    expect(fdCount()).toBeLessThanOrEqual(before + 1)
    srv.stop()
  })
})
