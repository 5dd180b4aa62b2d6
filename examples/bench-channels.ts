/**
 * Message-channel throughput, ringio vs Node, in one run:
 * - UDP echo msgs/s: ringio `udp()` vs Node `dgram`;
 * - line protocol msgs/s (`You said <line>`): ringio `delimited` vs Node `net` + `readline`.
 *
 * Each server runs in its own child process (plain `node`), pinned to CPU 0;
 * the load is a C program (`bench/channel-load.c`, built with gcc at start)
 * pinned to CPU 1, windowed, checking every reply. A Node client would
 * saturate its core first and make every server look alike. Prints msgs/s,
 * each server's CPU use, and the ratios.
 *
 *   node examples/dist/bench-channels.js [--seconds 3]
 */
import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createSocket } from 'node:dgram'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createServer } from 'node:net'
import { createInterface } from 'node:readline'
import { delimited, listen, udp } from '@ringio/net'

const self = fileURLToPath(import.meta.url)
const [mode] = process.argv.slice(2)
const secondsIdx = process.argv.indexOf('--seconds')
const SECONDS = secondsIdx === -1 ? 3 : Number(process.argv[secondsIdx + 1])

const servers: Record<string, () => void> = {
  'udp-ringio': () => {
    const s = udp({ host: '127.0.0.1', recvBufferSize: 4 << 20 })
    s.messages$.subscribe((d) => void s.send(d))
    console.log(s.localAddress.port)
  },
  'udp-node': () => {
    const s = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 })
    s.on('message', (m, r) => s.send(m, r.port, r.address))
    s.bind(0, '127.0.0.1', () => console.log(s.address().port))
  },
  'line-ringio': () => {
    listen({ host: '127.0.0.1', port: 0, onListening: (a) => console.log(a.port) }).subscribe((conn) => {
      const lines = delimited(conn)
      lines.messages$.subscribe({ next: (l) => void lines.send(`You said ${l}`), complete: () => lines.close(), error: () => conn.close() })
    })
  },
  'line-node': () => {
    const srv = createServer((sock) => {
      createInterface({ input: sock, crlfDelay: Infinity }).on('line', (l) => sock.write(`You said ${l}\n`))
      sock.on('error', () => sock.destroy())
    })
    srv.listen(0, '127.0.0.1', () => console.log((srv.address() as { port: number }).port))
  },
}

/** Builds the C load generator (bench/channel-load.c) once per run into a temporary directory. */
function buildLoad(): string {
  const src = fileURLToPath(new URL('../../bench/channel-load.c', import.meta.url))
  const dir = mkdtempSync(join(tmpdir(), 'ringio-channel-load-'))
  const bin = join(dir, 'channel-load')
  const r = spawnSync('gcc', ['-O2', '-o', bin, src], { stdio: 'inherit' })
  if (r.status !== 0) throw new Error('bench-channels: gcc could not build bench/channel-load.c')
  return bin
}

/** `taskset -c CPU` when the machine has it and more than one CPU: server and load on their own cores, as in the echo kit. */
function pinned(cpu: number, cmd: string, args: string[]): [string, string[]] {
  canPin ??= availableParallelism() > 1 && spawnSync('taskset', ['-c', '0', 'true']).status === 0
  return canPin ? ['taskset', ['-c', String(cpu), cmd, ...args]] : [cmd, args]
}
let canPin: boolean | undefined

/** CPU time (user + system, in clock ticks of 10 ms) of process `pid` so far. */
function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return Number(f[11]) + Number(f[12])
}

/** One server against the C load: replies/s and the server's CPU use (% of one core) while loaded. */
async function measure(server: string, load: string, kind: 'udp' | 'line'): Promise<{ rate: number; cpu: number }> {
  const [cmd, args] = pinned(0, process.execPath, [self, server])
  const srv = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise<void>((resolve) => srv.on('exit', () => resolve()))
  const port = await new Promise<string>((resolve) => createInterface({ input: srv.stdout! }).once('line', resolve))
  const [lcmd, largs] = pinned(1, load, [kind, port, '-d', String(SECONDS)])
  const cli = spawn(lcmd, largs, { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  cli.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  const done = new Promise<number | null>((resolve) => cli.on('exit', (code) => resolve(code)))
  // The server's own process (under taskset, its child: the pid is the same after exec).
  await new Promise((r) => setTimeout(r, 500))
  const t0 = Date.now()
  const c0 = cpuTicks(srv.pid!)
  await new Promise((r) => setTimeout(r, (SECONDS - 1) * 1000))
  const cpu = ((cpuTicks(srv.pid!) - c0) * 10 * 100) / (Date.now() - t0)
  const code = await done
  srv.kill()
  await exited
  if (code !== 0) throw new Error(`bench-channels: the load generator failed against ${server} (exit ${code})`)
  return { rate: Number(out.trim()), cpu }
}

if (mode !== undefined && servers[mode] !== undefined) {
  servers[mode]()
} else {
  const load = buildLoad()
  const r: Record<string, number> = {}
  console.log(`message channels: C load generator (bench/channel-load.c), ${SECONDS} s per server, server and load pinned to CPUs 0 and 1`)
  console.log('  udp: 4 sockets x 32 datagrams of 64 bytes in flight; line: 20 connections x 32 lines in flight; every reply checked')
  for (const [name, kind] of [['udp-ringio', 'udp'], ['udp-node', 'udp'], ['line-ringio', 'line'], ['line-node', 'line']] as const) {
    const m = await measure(name, load, kind)
    r[name] = m.rate
    console.log(`${name.padEnd(12)} ${m.rate.toLocaleString('en-US').padStart(10)} msgs/s   server CPU ${Math.round(m.cpu)} %`)
  }
  rmSync(dirname(load), { recursive: true, force: true })
  console.log(`UDP echo:      ringio/dgram         = ${(r['udp-ringio']! / r['udp-node']!).toFixed(2)}x`)
  console.log(`line protocol: ringio/net+readline  = ${(r['line-ringio']! / r['line-node']!).toFixed(2)}x`)
}
