import { describe, expect, it } from 'vitest'
import { connect, type Connection } from '@ringio/net'
import { backend } from '@ringio/core/transport'
import { collect, fdCount, serve } from './helpers.js'

describe(`tcp (${process.env['RINGIO_BACKEND']})`, () => {
  it('echoes bytes and half-closes', async () => {
    const srv = await serve((c) => c.data$.subscribe({ next: (b) => void c.write(b), complete: () => void c.end() }))
    const conn = await connect({ port: srv.port })
    const got = collect(conn.data$)
    await conn.write('hello ')
    await conn.write(Buffer.from('world'))
    await conn.end()
    expect((await got).toString()).toBe('hello world')
    expect(backend()).toBe(process.env['RINGIO_BACKEND'])
    srv.stop()
  })

  it('delivers three writes issued in one data callback, in order (the libxev case)', async () => {
    const srv = await serve((c) =>
      c.data$.subscribe({
        next: (b) => { void c.write('first\n'); void c.write('second\n'); void c.write('third\n'); void c.write(b) },
        complete: () => void c.end(),
      }),
    )
    const conn = await connect({ port: srv.port })
    const got = collect(conn.data$)
    await conn.write('x\n')
    await new Promise((r) => setTimeout(r, 50))
    await conn.end()
    expect((await got).toString()).toBe('first\nsecond\nthird\nx\n')
    srv.stop()
  })

  it('leaves no fd behind after 1000 connections', async () => {
    const before = fdCount()
    const conns: Connection[] = []
    const srv = await serve((c) => { conns.push(c); c.data$.subscribe({ complete: () => void c.end() }) })
    for (let i = 0; i < 1000; i++) {
      const c = await connect({ port: srv.port })
      c.close()
      await c.closed
    }
    srv.stop()
    await Promise.all(conns.map((c) => c.closed))
    await new Promise((r) => setTimeout(r, 20))
    expect(conns.length).toBe(1000)
    expect(fdCount()).toBeLessThanOrEqual(before + 1) // the read pool / listener may hold none; allow the ring's lazily created fds
  })
})
