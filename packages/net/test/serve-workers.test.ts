/**
 * serveWorkers(): one handler on worker threads, a ring and an SO_REUSEPORT
 * listener each (issue 17). Runs the built dist (workers load real files)
 * against node:net clients on 127.0.0.1, on the backend of the vitest
 * project (the workers inherit RINGIO_BACKEND).
 */
import { spawn } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import net from 'node:net'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildOnce, distStale } from '../../../test/helpers/build-once.js'
import { fdCount, pattern, until } from './helpers.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const HANDLER = new URL('./fixtures/serve-workers-handler.mjs', import.meta.url)
const BACKEND = process.env['RINGIO_BACKEND'] ?? 'uring'
type Net = typeof import('@ringio/net')
let ringio: Net

beforeAll(async () => {
  const example = (n: string): string => join(ROOT, 'examples', 'dist', `${n}.js`)
  await buildOnce(() => distStale(['core', 'net']) || !existsSync(example('echo-worker')) || statSync(example('echo-server')).mtimeMs < statSync(join(ROOT, 'examples', 'echo-server.ts')).mtimeMs)
  ringio = (await import(/* @vite-ignore */ pathToFileURL(join(ROOT, 'packages/net/dist/index.js')).href)) as Net
}, 300_000)

/** Connects, writes `chunks`, half-closes, and resolves with everything echoed until the server ends. */
function exchange(port: number, chunks: Buffer[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = []
    const s = net.connect(port, '127.0.0.1', () => {
      for (const c of chunks) s.write(c)
      s.end()
    })
    s.on('data', (b) => got.push(b))
    s.on('end', () => resolve(Buffer.concat(got)))
    s.on('error', reject)
  })
}

/** One request, one reply (the socket stays open until `close()`). */
function session(port: number): Promise<{ ask: (s: string) => Promise<string>; sock: net.Socket }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => {
      resolve({
        sock,
        ask: (q) =>
          new Promise((res) => {
            sock.once('data', (b) => res(b.toString('latin1')))
            sock.write(q)
          }),
      })
    })
    sock.once('error', reject)
  })
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    s.once('connect', () => {
      s.destroy()
      resolve(false)
    })
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'))
  })
}

describe(`serveWorkers (${BACKEND})`, () => {
  it('spreads 40 connections over 2 workers, each echoed byte-exact in order, counts them, and leaves no fd behind', async () => {
    const before = fdCount()
    const server = await ringio.serveWorkers({ host: '127.0.0.1', port: 0, workers: 2, handleSignals: false }, HANDLER)
    expect(server.size).toBe(2)
    const N = 40
    const sent = Array.from({ length: N }, (_, i) => pattern(256 * 1024, i + 1))
    const echoed = await Promise.all(sent.map((data) => exchange(server.address.port, Array.from({ length: 16 }, (_, k) => data.subarray(k * 16384, (k + 1) * 16384)))))
    for (let i = 0; i < N; i++) expect(echoed[i]!.equals(sent[i]!), `connection ${i}`).toBe(true)
    await until(() => server.counters().every((c) => c.open === 0), 5000)
    const counters = server.counters()
    expect(counters.map((c) => c.connections).reduce((a, b) => a + b)).toBe(N)
    for (const c of counters) expect(c.connections, `worker ${c.index}`).toBeGreaterThan(0) // 2^-39 to fail by chance
    expect(counters.map((c) => c.bytesIn).reduce((a, b) => a + b)).toBe(N * 256 * 1024)
    expect(counters.map((c) => c.bytesOut).reduce((a, b) => a + b)).toBe(N * 256 * 1024)
    await server.close()
    await until(() => fdCount() <= before, 5000)
    expect(fdCount()).toBe(before)
  })

  it('shutdown stops accepting, lets an open connection finish, then every worker exits', async () => {
    const server = await ringio.serveWorkers({ host: '127.0.0.1', port: 0, workers: 2, handleSignals: false, drainTimeout: 10_000 }, HANDLER)
    const port = server.address.port
    const a = await session(port)
    expect(await a.ask('hello')).toBe('hello')
    const t0 = Date.now()
    const closed = server.close()
    for (const t = Date.now(); !(await refused(port)); ) {
      if (Date.now() - t > 5000) throw new Error('the listeners did not close')
      await new Promise((r) => setTimeout(r, 20))
    }
    expect(await a.ask('still here')).toBe('still here') // the open connection is served on
    let done = false
    void closed.then(() => (done = true))
    await new Promise((r) => setTimeout(r, 200))
    expect(done).toBe(false) // waiting for that connection
    a.sock.end()
    await closed
    expect(Date.now() - t0).toBeLessThan(5000) // it did not wait for the drain timeout
  })

  it('a connection still open after drainTimeout is destroyed, and close() resolves', async () => {
    const server = await ringio.serveWorkers({ host: '127.0.0.1', port: 0, workers: 1, handleSignals: false, drainTimeout: 300 }, HANDLER)
    const a = await session(server.address.port)
    expect(await a.ask('idle')).toBe('idle')
    const ended = new Promise<void>((resolve) => a.sock.once('close', () => resolve()))
    const t0 = Date.now()
    await server.close()
    await ended
    expect(Date.now() - t0).toBeLessThan(4000)
  })

  it('a worker that crashes is reported and replaced; the pool keeps serving', async () => {
    const server = await ringio.serveWorkers({ host: '127.0.0.1', port: 0, workers: 2, handleSignals: false, drainTimeout: 500 }, HANDLER)
    const events: { type: string; index: number }[] = []
    server.events$.subscribe((e) => events.push({ type: e.type, index: e.index }))
    const port = server.address.port
    const victim = await session(port)
    const who = Number((await victim.ask('who?')).split(' ')[1])
    victim.sock.on('error', () => {}) // its worker dies under it
    victim.sock.write('crash!')
    await until(() => events.some((e) => e.type === 'replaced'), 10_000)
    expect(events).toEqual([
      { type: 'crashed', index: who },
      { type: 'replaced', index: who },
    ])
    expect(server.counters()[who]!.restarts).toBe(1)
    const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => exchange(port, [Buffer.from(`after ${i}`)])))
    expect(replies.map(String)).toEqual(Array.from({ length: 10 }, (_, i) => `after ${i}`))
    await server.close()
  })

  it('a worker whose thread is stuck is reported at shutdown, and its listener is shut down from the main thread', async () => {
    const child = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/serve-workers-stuck.mjs', import.meta.url))], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    })
    const lines: Record<string, unknown>[] = []
    createInterface({ input: child.stdout! }).on('line', (l) => lines.push(JSON.parse(l) as Record<string, unknown>))
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.once('close', (_code, sig) => resolve(sig)))
    expect(signal).toBe('SIGKILL') // it got to the end of its script
    expect(lines).toContainEqual({ event: 'stuck', index: 0 })
    expect(lines).toContainEqual({ refused: true }) // no listener left in the group, taking connections nobody accepts
    const closed = lines.find((l) => 'closedAfterMs' in l)!
    expect(closed['closedAfterMs']).toBeLessThan(5000) // drainTimeout (100 ms) + 2 s of grace
  })

  it('a bind error rejects with the IoError and leaves nothing behind', async () => {
    const blocker = net.createServer()
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()))
    const port = (blocker.address() as net.AddressInfo).port
    const before = fdCount()
    try {
      await expect(ringio.serveWorkers({ host: '127.0.0.1', port, workers: 2, handleSignals: false }, HANDLER)).rejects.toMatchObject({ code: 'EADDRINUSE' })
      await until(() => fdCount() <= before, 5000)
      expect(fdCount()).toBe(before)
    } finally {
      blocker.close()
    }
  })

  it('a handler module without a default export is a clear error; bad options throw at the call site', async () => {
    await expect(
      ringio.serveWorkers({ host: '127.0.0.1', port: 0, workers: 1, handleSignals: false }, new URL('./fixtures/serve-workers-no-default.mjs', import.meta.url)),
    ).rejects.toThrow(/must export a default function/)
    await expect(ringio.serveWorkers({ port: 0, workers: 0 }, HANDLER)).rejects.toThrow(RangeError)
    await expect(ringio.serveWorkers({ port: 0 }, 'relative/handler.js')).rejects.toThrow(TypeError)
  })

  it('examples/echo-server.js --workers 2: SIGTERM drains an open connection, then the process ends by the signal', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'examples/dist/echo-server.js'), '--host', '127.0.0.1', '--port', '0', '--workers', '2'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    })
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
    const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve))
    const port = Number(/:(\d+) \(2 workers\)/.exec(line)![1])
    const a = await session(port)
    expect(await a.ask('before')).toBe('before')
    child.kill('SIGTERM')
    for (const t = Date.now(); !(await refused(port)); ) {
      if (Date.now() - t > 5000) throw new Error('the listeners did not close')
      await new Promise((r) => setTimeout(r, 20))
    }
    expect(await a.ask('during the drain')).toBe('during the drain')
    a.sock.end()
    expect(await exited).toEqual({ code: null, signal: 'SIGTERM' })
  })
})
