/**
 * Message-channel throughput, ringio vs Node, in one run:
 * - UDP echo msgs/s: ringio `udp()` vs Node `dgram`;
 * - line protocol msgs/s (`You said <line>`): ringio `delimited` vs Node `net` + `readline`.
 *
 * Each server runs in its own child process (plain `node`), the load client in
 * another (the same Node client for both servers): windowed, and every reply
 * is checked. Prints msgs/s and the ratios.
 *
 *   node examples/dist/bench-channels.js [--seconds 3]
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createSocket } from 'node:dgram'
import { createConnection, createServer } from 'node:net'
import { createInterface } from 'node:readline'
import { delimited, listen, udp } from '@ringio/net'

const self = fileURLToPath(import.meta.url)
const [mode, arg] = process.argv.slice(2)
const secondsIdx = process.argv.indexOf('--seconds')
const SECONDS = secondsIdx === -1 ? 3 : Number(process.argv[secondsIdx + 1])

const servers: Record<string, () => void> = {
  'udp-ringio': () => {
    const s = udp({ host: '127.0.0.1', recvBufferSize: 4 << 20 })
    s.messages$.subscribe((d) => void s.send(d))
    console.log(s.address().port)
  },
  'udp-node': () => {
    const s = createSocket('udp4')
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

/** UDP load: 4 sockets x window 32, 64-byte datagrams carrying a sequence number. */
async function udpClient(port: number): Promise<number> {
  let count = 0
  const end = Date.now() + SECONDS * 1000
  await Promise.all(
    Array.from({ length: 4 }, () => new Promise<void>((resolve, reject) => {
      const s = createSocket('udp4')
      let sent = 0
      let want = 0
      const send = (): void => {
        const b = Buffer.alloc(64)
        b.writeUInt32BE(sent++, 0)
        s.send(b, port, '127.0.0.1')
      }
      s.on('message', (m) => {
        if (m.length !== 64 || m.readUInt32BE(0) !== want++) return reject(new Error('udp: wrong or reordered reply'))
        count++
        if (Date.now() < end) send()
        else if (want === sent) { s.close(); resolve() }
      })
      s.bind(0, '127.0.0.1', () => { for (let i = 0; i < 32; i++) send() })
    })),
  )
  return count / SECONDS
}

/** Line load: 20 connections x window 32 lines. */
async function lineClient(port: number): Promise<number> {
  let count = 0
  const end = Date.now() + SECONDS * 1000
  await Promise.all(
    Array.from({ length: 20 }, () => new Promise<void>((resolve, reject) => {
      const sock = createConnection({ port, host: '127.0.0.1' })
      let sent = 0
      let want = 0
      const send = (): void => void sock.write(`line ${sent++} of the benchmark\n`)
      createInterface({ input: sock }).on('line', (l) => {
        if (l !== `You said line ${want++} of the benchmark`) return reject(new Error(`line: wrong reply '${l}'`))
        count++
        if (Date.now() < end) send()
        else if (want === sent) { sock.end(); resolve() }
      })
      sock.on('connect', () => { for (let i = 0; i < 32; i++) send() })
      sock.on('error', reject)
    })),
  )
  return count / SECONDS
}

function child(args: string[]): Promise<{ line: Promise<string>; exit: () => void; done: Promise<void> }> {
  const p = spawn(process.execPath, [self, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  const line = new Promise<string>((resolve) => createInterface({ input: p.stdout! }).once('line', resolve))
  const done = new Promise<void>((resolve) => p.on('exit', () => resolve()))
  return Promise.resolve({ line, exit: () => void p.kill(), done })
}

async function measure(server: string, client: string): Promise<number> {
  const srv = await child([server])
  const port = await srv.line
  const cli = await child([client, port, '--seconds', String(SECONDS)])
  const rate = Number(await cli.line)
  srv.exit()
  await srv.done
  return rate
}

if (mode !== undefined && servers[mode] !== undefined) {
  servers[mode]()
} else if (mode === 'udp-client' || mode === 'line-client') {
  const rate = await (mode === 'udp-client' ? udpClient : lineClient)(Number(arg))
  console.log(Math.round(rate))
  process.exit(0)
} else {
  const r: Record<string, number> = {}
  for (const [name, client] of [['udp-ringio', 'udp-client'], ['udp-node', 'udp-client'], ['line-ringio', 'line-client'], ['line-node', 'line-client']] as const) {
    r[name] = await measure(name, client)
    console.log(`${name.padEnd(12)} ${r[name]!.toLocaleString('en-US').padStart(10)} msgs/s`)
  }
  console.log(`UDP echo:      ringio/dgram         = ${(r['udp-ringio']! / r['udp-node']!).toFixed(2)}x`)
  console.log(`line protocol: ringio/net+readline  = ${(r['line-ringio']! / r['line-node']!).toFixed(2)}x`)
}
