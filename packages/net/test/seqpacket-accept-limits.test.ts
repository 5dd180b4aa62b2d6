// SEQPACKET listeners share listen()'s accept loop (accept-stream.ts): out of
// fds, they pause and retry instead of ending. A child `node` runs a SEQPACKET
// echo server on the built @ringio/net under `ulimit -n 64`; this process
// connects more clients than the child has fds, and checks that the child
// reports EMFILE, stays up, and serves the waiting clients once fds free up.
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { firstValueFrom, timeout } from 'rxjs'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { seqpacket, type SeqpacketChannel } from '@ringio/net'
import { buildOnce, distStale } from '../../../test/helpers/build-once.js'
import { until } from './helpers.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const FIXTURE = fileURLToPath(new URL('./fixtures/seqpacket-accept-limits-server.mjs', import.meta.url))
const FD_LIMIT = 64
const CLIENTS = 120 // well past what 64 fds can hold, well under the backlog (511)

type Ev = { type: string } & Record<string, unknown>

let child: ChildProcess | null = null
let clients: SeqpacketChannel[] = []
afterEach(() => {
  for (const c of clients) c.destroy()
  clients = []
  child?.kill('SIGKILL')
  child = null
})

beforeAll(() => buildOnce(() => distStale(['core', 'net'])), 300_000)

describe(`seqpacket accept under RLIMIT_NOFILE (${process.env['RINGIO_BACKEND']})`, () => {
  it('reports EMFILE, keeps listening, and serves the waiting clients once fds free', async () => {
    const name = `ringio-seqpacket-emfile-${process.pid}-${process.env['RINGIO_BACKEND']}`
    const path = `\0${name}`
    const c = spawn('bash', ['-c', `ulimit -n ${FD_LIMIT} && exec "$0" "$1" "$2"`, process.execPath, FIXTURE, name], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    })
    child = c
    const events: Ev[] = []
    createInterface({ input: c.stdout! }).on('line', (l) => events.push(JSON.parse(l) as Ev))
    let stderr = ''
    c.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const exit = new Promise<number | null>((resolve) => c.once('close', (code) => resolve(code)))
    await until(() => events.some((e) => e.type === 'listening') || c.exitCode !== null, 10_000, 'the child listening')
    expect(c.exitCode, `the child exited early: ${stderr}`).toBeNull()

    // 1. Starve it: more clients than it has fds (each connect completes into the backlog).
    for (let i = 0; i < CLIENTS; i++) clients.push(await seqpacket.connect({ path }))
    await until(() => events.some((e) => e.type === 'accept-error') || c.exitCode !== null, 10_000, 'EMFILE reported to onAcceptError')
    expect(events.find((e) => e.type === 'accept-error')).toEqual({ type: 'accept-error', code: 'EMFILE' })
    expect(events.some((e) => e.type === 'listener-error')).toBe(false)
    expect(c.exitCode).toBeNull()

    // 2. Free fds: every client but the last leaves (the waiting ones are accepted, see EOF and
    // are closed); the last one, accepted only once fds are free again, is served.
    for (const cl of clients.splice(0, CLIENTS - 1)) cl.destroy()
    const last = clients[clients.length - 1]!
    const echo = firstValueFrom(last.messages$.pipe(timeout(15_000)))
    await last.send('still here')
    expect(String(await echo)).toBe('still here')
    expect(events.some((e) => e.type === 'listener-error')).toBe(false)

    // 3. Closes cleanly: no backoff timer or accept left to keep it alive.
    c.kill('SIGUSR2')
    expect(await exit).toBe(0)
  }, 60_000)
})
