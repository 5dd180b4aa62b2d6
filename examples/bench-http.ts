/**
 * Node's own http and https servers on ringio against the same servers on
 * Node's libuv sockets, in one run: wrk (keep-alive, `--latency`) drives
 * (a) node:http native, (b) node:http on ringio (`serveNode`), (c) native
 * https and (d) https on ringio, each server a `node` process of its own
 * serving a 13-byte body. Server pinned to CPU 0, wrk to CPU 1 (when taskset
 * and two CPUs exist). Medians of `--repeat` rounds (3), the four servers
 * alternating in each round; prints req/s, p99, the server's CPU time per
 * request (user + system, from /proc: steadier than req/s on a shared
 * machine) and the ratios to native.
 *
 *   node examples/dist/bench-http.js [--seconds 3] [--repeat 3] [--conns 50]
 *
 * Needs `wrk` (Debian's `wrk` package) and, for https, the `openssl` CLI (a
 * self-signed certificate is made in a temp dir at start).
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer as createHttp } from 'node:http'
import { createServer as createHttps } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { serveNode } from '@ringio/net'
import { accepting, arg, cpuTicks, freePort, median, pinned } from './lib/bench.js'

type Kind = 'node-http' | 'ringio-http' | 'node-https' | 'ringio-https'
const KINDS: Kind[] = ['node-http', 'ringio-http', 'node-https', 'ringio-https']

const self = fileURLToPath(import.meta.url)
const SECONDS = Number(arg('seconds', '3'))
const REPEAT = Number(arg('repeat', '3'))
const CONNS = Number(arg('conns', '50'))
const BODY = 'hello, world\n'

/** The server side: `bench-http.js serve <kind> <port> <certdir>`. */
async function serve(kind: Kind, port: number, certDir: string): Promise<void> {
  const handler = (_req: unknown, res: import('node:http').ServerResponse): void => {
    res.setHeader('content-type', 'text/plain')
    res.end(BODY)
  }
  const tls = kind.endsWith('https') ? { key: readFileSync(join(certDir, 'key.pem')), cert: readFileSync(join(certDir, 'cert.pem')) } : null
  const server = tls === null ? createHttp(handler) : createHttps(tls, handler)
  if (kind.startsWith('ringio')) await serveNode(server, { host: '127.0.0.1', port })
  else await new Promise<void>((r) => server.listen(port, '127.0.0.1', r))
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(0))
}

/** wrk's "99%  2.70ms" in ms. */
function latencyMs(v: string, unit: string): number {
  const n = Number(v)
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n
}

interface Result {
  rps: number
  p99: number
  /** Server CPU (user + system) per request, µs. */
  cpuUs: number
}

function wrk(url: string, seconds: number): Promise<{ rps: number; p99: number; requests: number }> {
  const [cmd, args] = pinned(1, 'wrk', ['-t1', `-c${CONNS}`, `-d${seconds}s`, '--latency', url])
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    p.stdout.on('data', (d: Buffer) => (out += d.toString()))
    p.on('error', reject)
    p.on('exit', (code) => {
      const rps = /Requests\/sec:\s+([\d.]+)/.exec(out)
      const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m)\b/m.exec(out)
      const requests = /(\d+) requests in/.exec(out)
      const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(out)
      if (code !== 0 || rps === null || p99 === null || requests === null) return reject(new Error(`bench-http: wrk failed on ${url} (exit ${code}): ${out.trim()}`))
      if (errors !== null) return reject(new Error(`bench-http: errors against ${url}: ${errors[0]}`))
      resolve({ rps: Number(rps[1]), p99: latencyMs(p99[1]!, p99[2]!), requests: Number(requests[1]) })
    })
  })
}

async function measure(kind: Kind, certDir: string): Promise<Result> {
  const port = await freePort()
  const [cmd, args] = pinned(0, process.execPath, [self, 'serve', kind, String(port), certDir])
  const srv = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] })
  try {
    await accepting(port, () => srv.exitCode !== null, 'bench-http')
    const url = `${kind.endsWith('https') ? 'https' : 'http'}://127.0.0.1:${port}/`
    await wrk(url, 1) // warm-up: V8 optimises the hot paths, TLS sessions set up
    const c0 = cpuTicks(srv.pid!)
    const r = await wrk(url, SECONDS)
    const cpuUs = ((cpuTicks(srv.pid!) - c0) * 10_000) / Math.max(1, r.requests)
    return { rps: r.rps, p99: r.p99, cpuUs }
  } finally {
    srv.kill()
    await new Promise((r) => (srv.exitCode !== null ? r(null) : srv.once('exit', r)))
  }
}

function makeCert(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ringio-bench-http-'))
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: ['ignore', 'ignore', 'pipe'] })
  if (r.status !== 0) throw new Error(`bench-http: openssl failed: ${r.stderr?.toString() ?? r.error?.message}`)
  return dir
}

if (process.argv[2] === 'serve') {
  await serve(process.argv[3] as Kind, Number(process.argv[4]), process.argv[5]!)
} else {
  if (spawnSync('wrk', ['--version']).error !== undefined) {
    console.error('bench-http: wrk is not installed (apt-get install wrk)')
    process.exit(2)
  }
  const certDir = makeCert()
  try {
    const runs: Record<Kind, Result[]> = { 'node-http': [], 'ringio-http': [], 'node-https': [], 'ringio-https': [] }
    console.log(`http: wrk -c${CONNS} keep-alive, ${BODY.length} B body, ${SECONDS} s x ${REPEAT} rounds (server on CPU 0, wrk on CPU 1)`)
    for (let i = 0; i < REPEAT; i++) {
      for (const kind of KINDS) {
        const r = await measure(kind, certDir)
        runs[kind].push(r)
        console.log(`  ${kind.padEnd(12)} round ${i + 1}: ${r.rps.toFixed(0).padStart(7)} req/s  p99 ${r.p99.toFixed(2).padStart(6)} ms  server CPU ${r.cpuUs.toFixed(1)} µs/req`)
      }
    }
    const rps = (k: Kind): number => median(runs[k].map((r) => r.rps))
    const p99 = (k: Kind): number => median(runs[k].map((r) => r.p99))
    const cpu = (k: Kind): number => median(runs[k].map((r) => r.cpuUs))
    const line = (what: string, ringio: Kind, native: Kind): string =>
      `${what}: ringio/native = ${(rps(ringio) / rps(native)).toFixed(2)}x (${rps(ringio).toFixed(0)} vs ${rps(native).toFixed(0)} req/s), ` +
      `p99 ${p99(ringio).toFixed(2)} vs ${p99(native).toFixed(2)} ms, server CPU ${cpu(ringio).toFixed(1)} vs ${cpu(native).toFixed(1)} µs/req (medians)`
    console.log(line('http  serveNode', 'ringio-http', 'node-http'))
    console.log(line('https serveNode', 'ringio-https', 'node-https'))
  } finally {
    rmSync(certDir, { recursive: true, force: true })
  }
}
