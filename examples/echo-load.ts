/**
 * A small closed-loop echo load generator on Node's `net` (the demo's load):
 * N connections, each with one message in flight (ping-pong), every echoed
 * byte checked. Prints one JSON line: msgs/s, p50/p99 latency in µs, errors.
 *
 *   node examples/dist/echo-load.js --port 7000 [--conns 50] [--size 64] [--seconds 3]
 */
import net from 'node:net'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    conns: { type: 'string', default: '50' },
    size: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '3' },
    progress: { type: 'boolean', default: false },
  },
})
const conns = Number(values.conns)
const size = Number(values.size)
const seconds = Number(values.seconds)
const lat: number[] = []
let msgs = 0
let errors = 0
let stop = false

function run(id: number): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect({ port: Number(values.port), host: values.host, noDelay: true })
    const msg = Buffer.alloc(size, 97 + (id % 26))
    let got = 0
    let t0 = 0n
    const send = (): void => {
      t0 = process.hrtime.bigint()
      s.write(msg)
    }
    s.on('connect', send)
    s.on('data', (d) => {
      for (const byte of d) if (byte !== msg[0]) errors++
      got += d.length
      if (got < size) return
      if (got > size) errors++
      got = 0
      msgs++
      lat.push(Number(process.hrtime.bigint() - t0) / 1000)
      if (stop) s.end()
      else send()
    })
    s.on('error', () => { errors++; resolve() })
    s.on('close', () => resolve())
  })
}

const started = performance.now()
const all = Promise.all(Array.from({ length: conns }, (_, i) => run(i)))
const tick = values.progress
  ? setInterval(() => process.stderr.write(`\r  ${((performance.now() - started) / 1000).toFixed(1)} s, ${msgs} msgs`), 250)
  : undefined
setTimeout(() => (stop = true), seconds * 1000)
await all
if (tick) { clearInterval(tick); process.stderr.write('\r\x1b[K') }
const secs = (performance.now() - started) / 1000
lat.sort((a, b) => a - b)
const pct = (p: number): number => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] ?? 0
console.log(JSON.stringify({ msgs, msgsPerSec: Math.round(msgs / secs), p50us: Math.round(pct(0.5)), p99us: Math.round(pct(0.99)), errors }))
