/**
 * The main demo: starts ringio's echo server, runs a built-in load against it
 * for a few seconds, does the same with Node's own `net`, and prints both.
 *
 *   npm run demo            (or: node examples/dist/demo.js [--seconds 3] [--conns 50])
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { isatty } from 'node:tty'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '3' }, conns: { type: 'string', default: '50' } } })
const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url))

async function startServer(script: string): Promise<{ child: ChildProcess; port: number; label: string }> {
  const child = spawn(process.execPath, [here(script), '--port', '0', '--host', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  for await (const chunk of child.stdout!) {
    out += String(chunk)
    const m = /listening on [^:]+:(\d+) \((.+)\)/.exec(out)
    if (m) return { child, port: Number(m[1]), label: m[2]! }
  }
  throw new Error(`${script} did not start: ${out}`)
}

async function load(port: number, label: string): Promise<{ msgsPerSec: number; p50us: number; p99us: number; errors: number }> {
  process.stderr.write(`load: ${values.conns} connections x 64 B ping-pong for ${values.seconds} s against ${label}\n`)
  // The load's `\r… \x1b[K` progress line goes to its stderr, which is ours
  // (fd 2): only on a terminal, as in a log the lines would run together.
  const progress = isatty(2) ? ['--progress'] : []
  const child = spawn(process.execPath, [here('./echo-load.js'), '--port', String(port), '--conns', values.conns, '--seconds', values.seconds, ...progress], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout!.on('data', (d) => (out += String(d)))
  await once(child, 'exit')
  return JSON.parse(out) as { msgsPerSec: number; p50us: number; p99us: number; errors: number }
}

const rows: [string, Awaited<ReturnType<typeof load>>][] = []
for (const script of ['./echo-server.js', './echo-server-node.js']) {
  const { child, port, label } = await startServer(script)
  try {
    rows.push([script.includes('node') ? 'node:net' : `ringio (${label})`, await load(port, label)])
  } finally {
    child.kill('SIGTERM')
    await once(child, 'exit')
  }
}
const base = rows[1]![1].msgsPerSec
console.log('\nserver              msgs/s     p50 µs   p99 µs  errors   vs node:net')
for (const [name, r] of rows) {
  console.log(
    `${name.padEnd(18)} ${String(r.msgsPerSec).padStart(8)} ${String(r.p50us).padStart(9)} ${String(r.p99us).padStart(8)} ${String(r.errors).padStart(7)}   x${(r.msgsPerSec / base).toFixed(2)}`,
  )
}
console.log('\n(the load generator is Node itself, on the same 2 cores: use `npm run bench` for the C load generator)')
