/**
 * Proxy throughput and memory, ringio vs Node, in one run: the shared kit's C
 * load generator (every byte verified) drives its C epoll echo server through
 * a proxy — `examples/reactive-proxy` (RxJS, `writeTo`) or a node:net
 * `pipe()` proxy — and we report MB/s through the proxy, its peak RSS and its
 * CPU use. Proxy pinned to CPU 0, load and echo server to CPU 1. Medians of
 * `--repeat` runs (3), the two proxies alternating.
 *
 *   ECHO_LOAD=path/echo-load ECHO_SERVER=path/echo-epoll node examples/dist/bench-proxy.js
 *
 * `npm run bench` builds the kit and runs this after the echo cells.
 */
import { spawn } from 'node:child_process'
import { createConnection, createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { accepting, arg, cpuTicks, freePort, median, pinned, rss } from './lib/bench.js'

const self = fileURLToPath(import.meta.url)
const SECONDS = Number(arg('seconds', '3'))
const REPEAT = Number(arg('repeat', '3'))
const CELL = { conns: 10, size: 65536, depth: 4 }

/** The node:net reference: `pipe()` both ways, as the node docs show. */
function nodeProxy(listenPort: number, target: number): void {
  createServer((c) => {
    const u = createConnection({ host: '127.0.0.1', port: target })
    c.pipe(u).pipe(c)
    const down = (): void => (c.destroy(), void u.destroy())
    c.on('error', down)
    u.on('error', down)
  }).listen(listenPort, '127.0.0.1', () => console.log(`proxy on ${listenPort}`))
}

interface Result {
  mbps: number
  peakRss: number
  cpu: number
}

type Proxy = 'ringio' | 'ringio-16k' | 'node'

async function measure(which: Proxy, load: string, echo: string): Promise<Result> {
  const echoPort = await freePort()
  const [ecmd, eargs] = pinned(1, echo, [String(echoPort)])
  const srv = spawn(ecmd, eargs, { stdio: ['ignore', 'ignore', 'ignore'] })
  await accepting(echoPort, () => srv.exitCode !== null, 'bench-proxy')
  const port = await freePort()
  const proxyArgs =
    which === 'node'
      ? [self, 'node-proxy', String(port), String(echoPort)]
      : [fileURLToPath(new URL('./reactive-proxy.js', import.meta.url)), '--listen', String(port), '--target', `127.0.0.1:${echoPort}`, ...(which === 'ringio-16k' ? ['--read-buffer', '16384'] : [])]
  const [pcmd, pargs] = pinned(0, process.execPath, proxyArgs)
  const proxy = spawn(pcmd, pargs, { stdio: ['ignore', 'ignore', 'inherit'] })
  await accepting(port, () => proxy.exitCode !== null, 'bench-proxy')
  const [lcmd, largs] = pinned(1, load, ['-P', String(port), '-c', String(CELL.conns), '-s', String(CELL.size), '-p', String(CELL.depth), '-d', String(SECONDS), '-w', '1', '-q'])
  const cli = spawn(lcmd, largs, { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  cli.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  const done = new Promise<number | null>((resolve) => cli.on('exit', (code) => resolve(code)))
  let peakRss = 0
  let finished = false
  void done.then(() => (finished = true))
  await new Promise((r) => setTimeout(r, 1000)) // the load's warm-up
  const t0 = Date.now()
  const c0 = cpuTicks(proxy.pid!)
  let c1 = c0
  let t1 = t0
  while (!finished) {
    peakRss = Math.max(peakRss, rss(proxy.pid!))
    if (Date.now() - t0 < SECONDS * 1000) (c1 = cpuTicks(proxy.pid!)), (t1 = Date.now())
    await new Promise((r) => setTimeout(r, 20))
  }
  const code = await done
  proxy.kill()
  srv.kill()
  const m = /MBps=([\d.]+).*errors=(\d+)/.exec(out)
  if (code !== 0 || m === null || m[2] !== '0') throw new Error(`bench-proxy: the load failed through the ${which} proxy (exit ${code}): ${out.trim()}`)
  return { mbps: Number(m[1]), peakRss, cpu: ((c1 - c0) * 10 * 100) / Math.max(1, t1 - t0) }
}

if (process.argv[2] === 'node-proxy') {
  nodeProxy(Number(process.argv[3]), Number(process.argv[4]))
} else {
  const load = process.env['ECHO_LOAD']
  const echo = process.env['ECHO_SERVER']
  if (load === undefined || echo === undefined) {
    console.error('bench-proxy: set ECHO_LOAD and ECHO_SERVER to the kit\'s echo-load and echo-epoll (npm run bench does)')
    process.exit(2)
  }
  const runs: Record<Proxy, Result[]> = { ringio: [], 'ringio-16k': [], node: [] }
  console.log(`proxy: ${CELL.conns} conns x ${CELL.size} B x depth ${CELL.depth} echoed through the proxy (C load + C epoll echo on CPU 1, proxy on CPU 0), ${SECONDS} s x ${REPEAT}`)
  for (let i = 0; i < REPEAT; i++) {
    for (const which of ['ringio', 'ringio-16k', 'node'] as const) {
      const r = await measure(which, load, echo)
      runs[which].push(r)
      console.log(`  ${which.padEnd(10)} run ${i + 1}: ${r.mbps.toFixed(0).padStart(6)} MB/s  peak RSS ${(r.peakRss / 2 ** 20).toFixed(0)} MiB  CPU ${r.cpu.toFixed(0)} %`)
    }
  }
  const mb = (w: Proxy): number => median(runs[w].map((r) => r.mbps))
  const rs = (w: Proxy): number => median(runs[w].map((r) => r.peakRss)) / 2 ** 20
  console.log(`proxy throughput: reactive-proxy/node pipe() = ${(mb('ringio') / mb('node')).toFixed(2)}x (${mb('ringio').toFixed(0)} vs ${mb('node').toFixed(0)} MB/s, medians); with a 16 KiB read pool ${(mb('ringio-16k') / mb('node')).toFixed(2)}x`)
  console.log(`proxy peak RSS:   reactive-proxy ${rs('ringio').toFixed(0)} MiB (16 KiB pool: ${rs('ringio-16k').toFixed(0)}), node pipe() ${rs('node').toFixed(0)} MiB (medians)`)
}
