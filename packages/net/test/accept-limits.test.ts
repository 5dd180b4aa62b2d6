// Issue 12, item 2: running out of fds must not kill a server. A child `node`
// runs an echo server on the built @ringio/net under `ulimit -n 64` (backend
// from RINGIO_BACKEND, inherited); this process opens far more node:net
// clients than the child has fds, and checks that the child stays up, tells
// the app, does not spin while starved, serves the waiting clients as fds
// free up, and exits cleanly once closed (no backoff timer left behind).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { buildOnce, distStale } from '../../../test/helpers/build-once.js'
import { sleep, until } from './helpers.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const FIXTURE = fileURLToPath(new URL('./fixtures/accept-limits-server.mjs', import.meta.url))
const FD_LIMIT = 64
const CLIENTS = 150 // well past what 64 fds can hold, well under the backlog (511)
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())

type Ev = { type: string } & Record<string, unknown>

/** The child and the events it printed so far. */
interface Server {
  child: ChildProcess
  events: Ev[]
  stderr: () => string
  exit: Promise<number | null>
}

function start(): Server {
  const child = spawn('bash', ['-c', `ulimit -n ${FD_LIMIT} && exec "$0" "$1"`, process.execPath, FIXTURE], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  })
  const events: Ev[] = []
  createInterface({ input: child.stdout! }).on('line', (l) => events.push(JSON.parse(l) as Ev))
  let err = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d))
  const exit = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
  return { child, events, stderr: () => err, exit }
}

/** CPU seconds (user + system) the process has used. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ') // from field 3 (state) on
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK // utime, stime: fields 14, 15
}

/** A client that sends `hello` once connected and remembers whether the echo came back. */
interface Client {
  sock: net.Socket
  echoed: boolean
}

function client(port: number, hello: string): Client {
  const c: Client = { sock: net.connect(port, '127.0.0.1'), echoed: false }
  let got = ''
  c.sock.setEncoding('utf8')
  c.sock.on('data', (d: string) => {
    got += d
    if (got === hello) c.echoed = true
  })
  c.sock.on('error', () => {}) // counted as "not echoed"; the asserts say which
  c.sock.write(hello)
  return c
}

let servers: Server[] = []
let sockets: net.Socket[] = []
afterEach(() => {
  for (const s of sockets) s.destroy()
  for (const s of servers) s.child.kill('SIGKILL')
  servers = []
  sockets = []
})

beforeAll(() => buildOnce(() => distStale(['core', 'net'])), 300_000)

describe('accept under RLIMIT_NOFILE', () => {
  it('survives EMFILE without spinning, reports it, serves waiting clients as fds free, and closes cleanly', async () => {
    const srv = start()
    servers.push(srv)
    await until(() => srv.events.some((e) => e.type === 'listening') || srv.child.exitCode !== null, 10_000, 'the child listening')
    expect(srv.child.exitCode, `the child exited early: ${srv.stderr()}`).toBeNull()
    const { port, pid, backend } = srv.events.find((e) => e.type === 'listening') as Ev & { port: number; pid: number; backend: string }
    expect(backend).toBe(process.env.RINGIO_BACKEND)
    const accepted = () => srv.events.filter((e) => e.type === 'accept-error')

    // 1. Starve it: more clients than fds. The kernel completes every handshake (backlog 511).
    const clients = Array.from({ length: CLIENTS }, () => client(port, 'x'))
    sockets.push(...clients.map((c) => c.sock))
    await until(() => accepted().length > 0, 10_000, 'an accept error reported to onAcceptError')
    const first = accepted()[0]!
    expect(first).toMatchObject({ code: 'EMFILE', op: 'accept' })
    expect(String(first.message)).toMatch(/retrying in \d+ ms/)
    // Served what it could: every accepted client got its echo; the others wait in the backlog.
    await until(() => clients.filter((c) => c.echoed).length >= 10, 5000, 'the first clients echoed')
    await sleep(300)
    const servedWhileStarved = clients.filter((c) => c.echoed).length
    expect(servedWhileStarved).toBeLessThan(FD_LIMIT)

    // 2. Starved, it must not spin: CPU over one second, well under half a core.
    const before = cpuSeconds(pid)
    await sleep(1000)
    const used = cpuSeconds(pid) - before
    expect(used, `CPU seconds used in 1 s while starved`).toBeLessThan(0.25)
    expect(srv.child.exitCode).toBeNull()
    expect(clients.filter((c) => c.echoed).length).toBe(servedWhileStarved) // nobody new while starved
    const reportedWhileStarved = accepted().length
    expect(reportedWhileStarved).toBeGreaterThan(1) // it retried…
    expect(reportedWhileStarved).toBeLessThan(40) // …with a backoff, not a busy loop

    // 3. Free fds by closing served clients: the waiting ones are accepted and echoed, all of them.
    const deadline = Date.now() + 15_000
    while (clients.some((c) => !c.echoed) && Date.now() < deadline) {
      for (const c of clients) if (c.echoed && !c.sock.destroyed) c.sock.destroy()
      await sleep(20)
    }
    expect(clients.filter((c) => !c.echoed).length, 'clients never served').toBe(0)
    for (const c of clients) c.sock.destroy()

    // 4. A new client after all that: an echo round trip.
    const fresh = client(port, 'ping')
    sockets.push(fresh.sock)
    await until(() => fresh.echoed, 5000, 'a fresh echo round trip')
    fresh.sock.destroy()
    expect(srv.child.exitCode).toBeNull()

    // 5. Starve it again, then close it while it backs off: it exits by itself, with no timer left.
    const more = Array.from({ length: CLIENTS }, () => client(port, 'y'))
    sockets.push(...more.map((c) => c.sock))
    const seen = accepted().length
    await until(() => accepted().length > seen + 3, 10_000, 'EMFILE again') // a few retries in: the delay has grown
    srv.child.kill('SIGUSR2')
    await until(() => srv.events.some((e) => e.type === 'closed'), 5000, 'the close')
    const closed = srv.events.find((e) => e.type === 'closed') as Ev & { resources: string[] }
    expect(closed.resources).not.toContain('Timeout')
    const code = await Promise.race([srv.exit, sleep(5000).then(() => 'still running')])
    expect(code).toBe(0)
    expect(srv.events.filter((e) => e.type === 'listener-error')).toEqual([])
    expect(srv.stderr()).toBe('')
  }, 60_000)
})
