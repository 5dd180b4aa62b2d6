/**
 * Issue 12, item 6 — the fault matrix, part 1: a peer that resets or is
 * SIGKILLed mid-write, half-close in each direction, write after close, and
 * connect refused / timed out / aborted. The peers are not ringio: node:net
 * sockets in this process or a child node process, so ringio's side is the
 * only one under test. lifecycle.test.ts covers a ringio peer resetting a
 * ringio *server*; these cover the connect() side and foreign peers.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import net from 'node:net'
import { createInterface } from 'node:readline'
import { beforeAll, describe, expect, it } from 'vitest'
import { getProactor, IoError, sockets } from '@ringio/core/transport'
import { connect, type Connection } from '@ringio/net'
import { decodeSockaddr, encodeInet } from '../src/sockaddr.js'
import { collect, fdCount, pattern, serve, sleep, SO_SNDBUF, SOL_SOCKET, until, within, stalled } from './helpers.js'

const BACKEND = process.env['RINGIO_BACKEND']
const AF_INET = 2
const SOCK_STREAM = 1


/** A node:net server on 127.0.0.1:0 (half-open allowed); `close` destroys what it accepted too. */
async function netServer(onConn: (s: net.Socket) => void): Promise<{ port: number; close: () => Promise<void> }> {
  const accepted = new Set<net.Socket>()
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    accepted.add(s.once('close', () => accepted.delete(s)))
    onConn(s)
  })
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const close = async (): Promise<void> => {
    for (const s of accepted) s.destroy()
    await new Promise<void>((resolve) => srv.close(() => resolve()))
  }
  return { port: (srv.address() as net.AddressInfo).port, close }
}

/** Spawns `node -e source`; resolves once it printed its first stdout line (returned). */
async function child(source: string): Promise<{ proc: ChildProcess; line: string; exited: Promise<string | null> }> {
  const proc = spawn(process.execPath, ['-e', source], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_OPTIONS: '' } })
  const exited = new Promise<string | null>((resolve) => proc.once('exit', (_code, signal) => resolve(signal)))
  const rl = createInterface({ input: proc.stdout! })
  const line = await within(new Promise<string>((resolve) => rl.once('line', resolve)), 10_000, 'the child to start')
  return { proc, line, exited }
}

/**
 * 16 MiB of writes queued on `conn` until the kernel stops taking them, an
 * `end()` behind them, and `data$` watched; `kill` then makes the peer go
 * away. Checks what must hold whatever the kill: every write settles (a
 * resolved prefix, then IoError ECONNRESET/EPIPE), end() rejects, data$
 * errors with the same kind of error, the fd is closed, nothing hangs.
 */
async function killedMidWrite(conn: Connection, kill: () => void): Promise<void> {
  let readSide = 'open'
  conn.data$.subscribe({ complete: () => (readSide = 'complete'), error: (e: IoError) => (readSide = `error ${e.code}`) })
  sockets.setIntOption(conn.fd, SOL_SOCKET, SO_SNDBUF, 65536)
  const writes = Array.from({ length: 16 }, (_, i) => conn.write(pattern(1 << 20, i)))
  const ended = conn.end()
  await stalled(conn)
  expect(conn.writableLength).toBeGreaterThan(1 << 20)
  kill()
  const results = await within(Promise.allSettled(writes), 5000, `the pending writes to settle (writableLength ${conn.writableLength})`)
  const firstFail = results.findIndex((x) => x.status === 'rejected')
  expect(firstFail).toBeGreaterThanOrEqual(0)
  for (const x of results.slice(firstFail)) {
    expect(x.status).toBe('rejected')
    const reason = (x as PromiseRejectedResult).reason as IoError
    expect(IoError.is(reason)).toBe(true)
    expect(['ECONNRESET', 'EPIPE']).toContain(reason.code)
  }
  await expect(within(ended, 2000, 'end() to settle')).rejects.toMatchObject({ name: 'IoError' })
  await within(conn.closed, 2000, 'the failed connection to close its fd')
  // data$ "errors with IoError (ECONNRESET…)": a reset is not a clean EOF.
  expect(readSide).toMatch(/^error (ECONNRESET|EPIPE)$/)
  expect(conn.writableLength).toBe(0)
  await expect(within(conn.write('late'), 1000, 'a write after the failure')).rejects.toMatchObject({ name: 'IoError', code: 'EPIPE' })
}

// The backend creates its fds (ring, eventfd, epoll set) on first use: do that before any fd count.
beforeAll(async () => {
  const srv = await netServer(() => {})
  const c = await connect({ port: srv.port })
  c.close()
  await c.closed
  await srv.close()
})

describe(`a peer that goes away mid-write (${BACKEND})`, () => {
  it('RST from a node:net peer (SO_LINGER 0): queued writes and end() reject, data$ errors, the fd is released', async () => {
    const before = fdCount()
    let peer: net.Socket | undefined
    const srv = await netServer((s) => {
      peer = s
      s.pause() // reads nothing: the client's writes back up
    })
    const conn = await connect({ port: srv.port })
    await until(() => peer !== undefined, 2000, 'the accept')
    await killedMidWrite(conn, () => peer!.resetAndDestroy())
    await srv.close()
    await sleep(20)
    expect(fdCount()).toBe(before)
  })

  it('a SIGKILLed child peer: the same, whatever the kernel sends for a killed process', async () => {
    const before = fdCount()
    const { proc, line, exited } = await child(
      `const s = require('net').createServer((c) => c.pause()).listen(0, '127.0.0.1', () => console.log(s.address().port))`,
    )
    const conn = await connect({ port: Number(line) })
    await killedMidWrite(conn, () => proc.kill('SIGKILL'))
    expect(await exited).toBe('SIGKILL')
    await sleep(20)
    expect(fdCount()).toBe(before)
  })

  it('a SIGKILLed child that was sending: data$ completes with a byte-exact prefix; end() then releases the fd', async () => {
    const before = fdCount()
    let conn!: Connection
    const srv = await serve((c) => (conn = c))
    // Sends bytes i % 251 forever, in 64 KiB writes, until killed.
    const { proc, exited } = await child(`
      const b = Buffer.alloc(65536); let off = 0
      const s = require('net').connect(${srv.port}, '127.0.0.1', () => { console.log('up'); pump() })
      function pump() { for (;;) { for (let i = 0; i < b.length; i++) b[i] = (off + i) % 251; off += b.length; if (!s.write(Buffer.from(b))) return s.once('drain', pump) } }
    `)
    await until(() => conn !== undefined, 2000, 'the accept')
    srv.stop()
    const got = collect(conn.data$)
    await sleep(100)
    proc.kill('SIGKILL')
    expect(await exited).toBe('SIGKILL')
    const all = await within(got, 5000, 'data$ to complete after the kill')
    expect(all.length).toBeGreaterThan(0)
    for (let i = 0; i < all.length; i++) if (all[i] !== i % 251) throw new Error(`byte ${i} is ${all[i]}, not ${i % 251}`)
    // EOF alone keeps the fd (half-close); ending our side finishes the connection.
    await within(conn.end(), 2000, 'end() after the peer died')
    await within(conn.closed, 2000, 'the fd to close once both directions are done')
    await sleep(20)
    expect(fdCount()).toBe(before)
  })
})

describe(`half-close (${BACKEND})`, () => {
  it('after our end() the peer keeps sending: every byte arrives, then both directions done closes the fd', async () => {
    const before = fdCount()
    const reply = pattern(4 << 20, 31)
    let request = ''
    const srv = await netServer((s) => {
      s.setEncoding('latin1')
      s.on('data', (d: string) => (request += d))
      // The peer answers only after our FIN: the reply travels on a half-closed connection.
      s.on('end', () => s.end(reply))
    })
    const conn = await connect({ port: srv.port })
    const got = collect(conn.data$)
    await conn.write('request')
    await within(conn.end(), 2000, 'end()')
    const all = await within(got, 10_000, 'the reply sent after our FIN')
    expect(request).toBe('request')
    expect(all.equals(reply)).toBe(true)
    await within(conn.closed, 2000, 'the fd to close (EOF read and end() done)')
    await srv.close()
    await sleep(20)
    expect(fdCount()).toBe(before)
  })

  it('the peer shuts down its write side: data$ completes, we still write back 4 MiB, then end() closes', async () => {
    const before = fdCount()
    const request = pattern(1 << 20, 41)
    const reply = pattern(4 << 20, 42)
    let server: Connection | undefined
    let replied = false
    let closedEarly = false
    let served!: Promise<void>
    const srv = await serve((c) => {
      server = c
      void c.closed.then(() => (closedEarly = !replied))
      served = (async () => {
        const req = await collect(c.data$)
        // data$ completed: the peer's FIN. Our side is still open for writing.
        expect(req.equals(request)).toBe(true)
        await sleep(50)
        await c.write(reply.subarray(0, 1 << 20))
        await c.write(reply.subarray(1 << 20))
        replied = true
        await c.end()
      })()
    })
    const peer = net.connect({ port: srv.port, host: '127.0.0.1', allowHalfOpen: true })
    const chunks: Buffer[] = []
    const peerDone = new Promise<void>((resolve) => peer.on('data', (d: Buffer) => chunks.push(d)).on('end', resolve))
    peer.end(request) // write, then FIN
    await until(() => server !== undefined, 2000, 'the accept')
    await within(served, 10_000, 'the server to read the request and write the reply')
    await within(peerDone, 10_000, 'the peer to read the reply and EOF')
    expect(Buffer.concat(chunks).equals(reply)).toBe(true)
    await within(server!.closed, 2000, 'the server fd to close')
    expect(closedEarly).toBe(false)
    peer.destroy()
    srv.stop()
    await sleep(20)
    expect(fdCount()).toBe(before)
  })
})

describe(`write after close (${BACKEND})`, () => {
  it('never throws: every form rejects with IoError EPIPE, already handled; end() resolves; close() is idempotent', async () => {
    const srv = await netServer(() => {})
    const conn = await connect({ port: srv.port })
    conn.close()
    conn.close()
    await within(conn.closed, 2000, 'close')
    const unhandled: unknown[] = []
    const onUnhandled = (e: unknown): void => void unhandled.push(e)
    process.on('unhandledRejection', onUnhandled)
    try {
      const forms: Parameters<Connection['write']>[0][] = ['x', Buffer.from('small'), pattern(64 * 1024), ['a', Buffer.alloc(10_000)], new Uint8Array(0)]
      for (const data of forms) {
        let p!: Promise<void>
        expect(() => (p = conn.write(data))).not.toThrow()
        await expect(p).rejects.toMatchObject({ name: 'IoError', code: 'EPIPE', op: 'write', handle: conn.fd })
      }
      // Fire-and-forget writes on a closed connection must not surface as unhandled rejections.
      for (let i = 0; i < 10; i++) void conn.write(`lost ${i}`)
      await sleep(20)
      expect(unhandled).toEqual([])
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
    await expect(conn.end()).resolves.toBeUndefined()
    expect(conn.writable).toBe(false)
    expect(conn.writableLength).toBe(0)
    await srv.close()
  })

  it('writing to a peer that closed: a write soon rejects with ECONNRESET/EPIPE (never hangs) and the fd goes', async () => {
    const srv = await netServer((s) => s.destroy())
    const conn = await connect({ port: srv.port })
    await within(collect(conn.data$), 2000, 'the peer FIN')
    // The first write may still be taken by the kernel (the peer answers it with RST); a later one fails.
    let failure: unknown = null
    for (let i = 0; i < 200 && failure === null; i++) {
      await within(conn.write(`ping ${i}`), 2000, 'a write to a closed peer').catch((e: unknown) => (failure = e))
      if (failure === null) await sleep(5)
    }
    expect(IoError.is(failure)).toBe(true)
    expect(['ECONNRESET', 'EPIPE']).toContain((failure as IoError).code)
    await within(conn.closed, 2000, 'the fd to close after the failed write')
    await srv.close()
  })
})

describe(`connect failures (${BACKEND})`, () => {
  /** A TCP socket bound to 127.0.0.1:0 (never accepting); `backlog` undefined: not listening. */
  function rawSocket(backlog?: number): { fd: number; port: number } {
    const fd = getProactor().socket(AF_INET, SOCK_STREAM, 0)
    sockets.bind(fd, encodeInet('127.0.0.1', 0))
    if (backlog !== undefined) sockets.listen(fd, backlog)
    return { fd, port: decodeSockaddr(sockets.sockName(fd)).port! }
  }

  it('refused: rejects with IoError ECONNREFUSED (op connect) and leaves no fd', async () => {
    const before = fdCount()
    // Bound but not listening: nobody else can take the port while we hold it, and a SYN gets RST.
    const { fd, port } = rawSocket()
    try {
      for (let i = 0; i < 20; i++) {
        const err = await within(connect({ port }), 2000, 'a refused connect').then(
          () => null,
          (e: unknown) => e,
        )
        expect(err).toMatchObject({ name: 'IoError', code: 'ECONNREFUSED', op: 'connect' })
      }
    } finally {
      sockets.closeSync(fd)
    }
    expect(fdCount()).toBe(before)
  })

  it('a full backlog: `timeout` rejects with TimeoutError, an abort with its reason; the sockets are closed', async () => {
    const before = fdCount()
    // listen(fd, 0) and never accept: the accept queue holds one connection, later SYNs are dropped.
    const { fd, port } = rawSocket(0)
    const filled: Connection[] = []
    try {
      let timedOut: unknown = null
      for (let i = 0; i < 8 && timedOut === null; i++) {
        const t0 = Date.now()
        await within(connect({ port, timeout: 300 }), 3000, 'a connect with timeout').then(
          (c) => void filled.push(c),
          (e: unknown) => {
            timedOut = e
            expect(Date.now() - t0).toBeGreaterThanOrEqual(250)
          },
        )
      }
      expect(filled.length).toBeGreaterThanOrEqual(1)
      expect(timedOut).toMatchObject({ name: 'TimeoutError' })

      const ac = new AbortController()
      const reason = new Error('given up')
      setTimeout(() => ac.abort(reason), 100)
      await expect(within(connect({ port, signal: ac.signal }), 3000, 'an aborted connect')).rejects.toBe(reason)
      const ac2 = new AbortController()
      setTimeout(() => ac2.abort(), 50)
      await expect(within(connect({ port, signal: ac2.signal, timeout: 10_000 }), 3000, 'an aborted connect')).rejects.toMatchObject({ name: 'AbortError' })
      // Already aborted: nothing is attempted.
      await expect(connect({ port, signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
      await expect(connect({ port, timeout: -1 })).rejects.toBeInstanceOf(RangeError)
    } finally {
      for (const c of filled) c.close()
      await Promise.all(filled.map((c) => c.closed))
      sockets.closeSync(fd)
    }
    await sleep(20)
    expect(fdCount()).toBe(before)
  })
})
