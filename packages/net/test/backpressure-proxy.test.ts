/**
 * Issue 13 — the repo's reactive proxy, run as a user runs it (the built
 * example under plain `node`), moves 1 GiB from a fast producer into a slow
 * consumer byte-exact, with its RSS within 64 MiB of where it started. Before
 * backpressure it grew from 0.8 to 2.4 GB in 8 s.
 */
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { connect as nodeConnect, createServer, type Socket } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { pattern, sleep, until } from './helpers.js'

const BACKEND = process.env['RINGIO_BACKEND']
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const PROXY = `${ROOT}examples/dist/reactive-proxy.js`
const TOTAL = Number(process.env['RINGIO_PROXY_MIB'] ?? 1024) * 2 ** 20
const SRC = pattern(1 << 20, 21)

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m === null ? 0 : Number(m[1]) * 1024
}

async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as { port: number }).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

describe(`reactive proxy under a slow consumer (${BACKEND})`, () => {
  it(`moves ${TOTAL >> 20} MiB byte-exact with its RSS bounded`, async () => {
    expect(existsSync(PROXY), `${PROXY} is missing: run npm run build`).toBe(true)
    // The slow consumer: reads, verifies, and naps 5 ms after every 2 MiB.
    let got = 0
    let bad = -1
    let ended!: () => void
    const consumerEnded = new Promise<void>((r) => (ended = r))
    const consumer = createServer((s: Socket) => {
      let sinceNap = 0
      s.on('data', (b: Buffer) => {
        for (let i = 0; i < b.length && bad < 0; i += 4093) if (b[i] !== SRC[(got + i) % SRC.length]) bad = got + i
        got += b.length
        sinceNap += b.length
        if (sinceNap >= 2 << 20) {
          sinceNap = 0
          s.pause()
          setTimeout(() => s.resume(), 5)
        }
      })
      s.on('end', () => (s.end(), ended()))
    })
    await new Promise<void>((r) => consumer.listen(0, '127.0.0.1', r))
    const target = (consumer.address() as { port: number }).port
    const port = await freePort()
    const proxy = spawn(process.execPath, [PROXY, '--listen', String(port), '--target', `127.0.0.1:${target}`], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '', RINGIO_BACKEND: BACKEND },
    })
    let stderr = ''
    proxy.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    let listening = false
    createInterface({ input: proxy.stdout! }).on('line', (l) => (listening ||= l.startsWith('proxy on')))
    let producer: Socket | undefined
    try {
      await until(() => listening || proxy.exitCode !== null, 10_000, 'the proxy to listen')
      expect(proxy.exitCode, stderr).toBeNull()
      // The fast producer: node:net, honouring drain.
      producer = nodeConnect({ host: '127.0.0.1', port })
      let sent = 0
      const pump = (): void => {
        while (sent < TOTAL) {
          const n = Math.min(256 * 1024, TOTAL - sent)
          const off = sent % SRC.length
          const chunk = off + n <= SRC.length ? SRC.subarray(off, off + n) : Buffer.concat([SRC.subarray(off), SRC.subarray(0, n - (SRC.length - off))])
          sent += n
          if (!producer!.write(chunk)) return void producer!.once('drain', pump)
        }
        producer!.end()
      }
      producer.once('connect', pump)
      // Baseline once data flows (the proxy's code is loaded and warm), then the peak until the end.
      await until(() => got >= 32 << 20, 30_000, 'the first 32 MiB through the proxy')
      const base = rssOf(proxy.pid!)
      let peak = base
      let done = false
      void consumerEnded.then(() => (done = true))
      while (!done) {
        peak = Math.max(peak, rssOf(proxy.pid!))
        await sleep(20)
        if (proxy.exitCode !== null) throw new Error(`the proxy exited: ${stderr}`)
      }
      expect(got).toBe(TOTAL)
      expect(bad).toBe(-1)
      const growth = peak - base
      console.log(`[${BACKEND}] proxy RSS ${(base / 2 ** 20).toFixed(0)} MiB at the baseline, peak +${(growth / 2 ** 20).toFixed(1)} MiB over ${TOTAL >> 20} MiB`)
      expect(growth).toBeLessThan(64 * 2 ** 20)
    } finally {
      producer?.destroy()
      proxy.kill('SIGTERM')
      consumer.close()
    }
  }, 180_000)
})
