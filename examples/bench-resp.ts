/**
 * A pipelined protocol on ringio vs node:net, same run: the RESP subset of
 * `examples/lib/resp.ts` served by `examples/custom-codec.ts` (`framed()` over
 * a ringio connection) and by the same codec on node:net, both driven by the
 * real `redis-benchmark` (Debian's `redis-tools`). Server pinned to CPU 0,
 * redis-benchmark to CPU 1. Medians of `--repeat` rounds (3), servers
 * alternating.
 *
 *   node examples/dist/bench-resp.js [--requests 500000] [--pipeline 16] [--clients 50] [--repeat 3]
 *
 * Two node:net anchors (both with `noDelay`, as a Redis server sets it): `node` writes each reply as it is made (what the
 * codec's users write by default), `node-cork` corks the socket for each
 * 'data' event and uncorks after the replies, the batching Node's docs
 * recommend. ringio's `framed()` batches without being asked: every `send()`
 * of a turn leaves in one writev.
 */
import { spawn, spawnSync } from 'node:child_process'
import { createServer, type Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { ByteBuffer } from '@ringio/net'
import { RespCodec, RespStore } from './lib/resp.js'
import { accepting, arg, cpuTicks, freePort, median, pinned } from './lib/bench.js'

const self = fileURLToPath(import.meta.url)
const REQUESTS = Number(arg('requests', '500000'))
const PIPELINE = Number(arg('pipeline', '16'))
const CLIENTS = Number(arg('clients', '50'))
const REPEAT = Number(arg('repeat', '3'))
const TESTS = ['PING_INLINE', 'PING_MBULK', 'SET', 'GET'] as const
type Server = 'ringio' | 'node' | 'node-cork'
const SERVERS: Server[] = ['ringio', 'node', 'node-cork']

/** The node:net server: the same codec and store, fed from 'data' events. */
function nodeServer(port: number, cork: boolean): void {
  const store = new RespStore()
  createServer({ noDelay: true }, (s: Socket) => {
    const buf = new ByteBuffer()
    const codec = new RespCodec()
    s.on('data', (chunk: Buffer) => {
      buf.append(chunk)
      if (cork) s.cork()
      try {
        for (let cmd = codec.decode(buf); cmd !== undefined; cmd = codec.decode(buf)) {
          const reply = codec.encode(store.execute(cmd))
          if (Array.isArray(reply)) for (const part of reply) s.write(part)
          else s.write(reply)
        }
      } catch {
        s.destroy()
      }
      if (cork) s.uncork()
    })
    s.on('error', () => s.destroy())
  }).listen(port, '127.0.0.1', () => console.log(`node RESP server on ${port}`))
}

/** One redis-benchmark test against one server: requests/s, and the server's CPU time per request. */
interface Figure {
  rps: number
  cpuUs: number
}

async function measure(which: Server): Promise<Record<string, Figure>> {
  const port = await freePort()
  const args = which === 'ringio' ? [fileURLToPath(new URL('./custom-codec.js', import.meta.url)), '--port', String(port)] : [self, 'serve-node', String(port), which === 'node-cork' ? 'cork' : '']
  const [scmd, sargs] = pinned(0, process.execPath, args)
  const srv = spawn(scmd, sargs, { stdio: ['ignore', 'ignore', 'inherit'] })
  try {
    await accepting(port, () => srv.exitCode !== null, 'bench-resp')
    const out: Record<string, Figure> = {}
    for (const test of TESTS) {
      // One test per run, so the server's CPU time is this test's alone.
      const t = test === 'PING_INLINE' ? 'ping_inline' : test === 'PING_MBULK' ? 'ping_mbulk' : test.toLowerCase()
      const [bcmd, bargs] = pinned(1, 'redis-benchmark', ['-p', String(port), '-c', String(CLIENTS), '-n', String(REQUESTS), '-P', String(PIPELINE), '-t', t, '--csv'])
      const c0 = cpuTicks(srv.pid!)
      const r = spawnSync(bcmd, bargs, { encoding: 'utf8', timeout: 120_000 })
      const ticks = cpuTicks(srv.pid!) - c0
      if (r.status !== 0) throw new Error(`bench-resp: redis-benchmark failed against ${which}: ${r.stderr || r.stdout}`)
      const m = new RegExp(`^"${test}[^"]*","([\\d.]+)"`, 'm').exec(r.stdout)
      if (m === null) throw new Error(`bench-resp: no ${test} figure from redis-benchmark against ${which}: ${r.stdout}`)
      out[test] = { rps: Number(m[1]), cpuUs: (ticks * 10_000) / REQUESTS }
    }
    return out
  } finally {
    srv.kill()
    await new Promise((r) => srv.once('exit', r))
  }
}

if (process.argv[2] === 'serve-node') {
  nodeServer(Number(process.argv[3]), process.argv[4] === 'cork')
} else {
  if (spawnSync('redis-benchmark', ['--version']).status !== 0) {
    console.error("bench-resp: redis-benchmark is missing (Debian's redis-tools; npm run bench installs it)")
    process.exit(2)
  }
  const runs: Record<Server, Record<string, Figure>[]> = { ringio: [], node: [], 'node-cork': [] }
  console.log(`resp: redis-benchmark -c ${CLIENTS} -P ${PIPELINE} -n ${REQUESTS} per test (server on CPU 0, redis-benchmark on CPU 1), ${REPEAT} rounds`)
  for (let i = 0; i < REPEAT; i++) {
    for (const which of SERVERS) {
      const r = await measure(which)
      runs[which].push(r)
      console.log(`  ${which.padEnd(9)} round ${i + 1}: ${TESTS.map((t) => `${t} ${(r[t]!.rps / 1000).toFixed(0)}k ${r[t]!.cpuUs.toFixed(2)}us`).join('  ')}`)
    }
  }
  const med = (w: Server, t: string, k: keyof Figure): number => median(runs[w].map((r) => r[t]![k]))
  for (const anchor of ['node', 'node-cork'] as const) {
    console.log(`resp -P ${PIPELINE} req/s:       ringio/${anchor.padEnd(9)} ${TESTS.map((t) => `${t} ${(med('ringio', t, 'rps') / med(anchor, t, 'rps')).toFixed(2)}x`).join('  ')} (medians)`)
    console.log(`resp -P ${PIPELINE} server CPU/req: ringio/${anchor.padEnd(9)} ${TESTS.map((t) => `${t} ${(med('ringio', t, 'cpuUs') / med(anchor, t, 'cpuUs')).toFixed(2)}x`).join('  ')} (medians; lower is better)`)
  }
}
