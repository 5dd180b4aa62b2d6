/**
 * Issue 13 — the repo's reactive proxy, run as a user runs it (the built
 * example under plain `node`), moves 1 GiB from a fast producer into a slow
 * consumer byte-exact, with its RSS within 64 MiB of where it started. Before
 * backpressure it grew from 0.8 to 2.4 GB in 8 s.
 */
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import type { Socket } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { pattern, sleep, slowConsumer, streamPeer, until } from './helpers.js'

const BACKEND = process.env['RINGIO_BACKEND']
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const PROXY = `${ROOT}examples/dist/reactive-proxy.js`
const TOTAL = Number(process.env['RINGIO_PROXY_MIB'] ?? 1024) * 2 ** 20
const SRC = pattern(1 << 20, 21)

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m === null ? 0 : Number(m[1]) * 1024
}

describe(`reactive proxy under a slow consumer (${BACKEND})`, () => {
  it(`moves ${TOTAL >> 20} MiB byte-exact with its RSS bounded`, async () => {
    expect(existsSync(PROXY), `${PROXY} is missing: run npm run build`).toBe(true)
    // The slow consumer: reads, verifies, and naps 5 ms after every 2 MiB.
    const consumer = await slowConsumer(SRC, 2 << 20, 5)
    const got = consumer.got
    const proxy = spawn(process.execPath, [PROXY, '--listen', '0', '--target', `127.0.0.1:${consumer.port}`], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '', RINGIO_BACKEND: BACKEND },
    })
    let stderr = ''
    proxy.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    // --listen 0: the proxy says which port it got.
    let port = 0
    createInterface({ input: proxy.stdout! }).on('line', (l) => (port ||= Number(/^proxy on (\d+)/.exec(l)?.[1] ?? 0)))
    let producer: Socket | undefined
    try {
      await until(() => port !== 0 || proxy.exitCode !== null, 10_000, 'the proxy to listen')
      expect(proxy.exitCode, stderr).toBeNull()
      // The fast producer: node:net, honouring drain.
      producer = streamPeer(port, SRC, TOTAL, { chunk: 256 * 1024, end: true }).sock
      // Baseline once data flows (the proxy's code is loaded and warm), then the peak until the end.
      await until(() => got() >= 32 << 20, 30_000, 'the first 32 MiB through the proxy')
      const base = rssOf(proxy.pid!)
      let peak = base
      let done = false
      void consumer.ended.then(() => (done = true))
      while (!done) {
        peak = Math.max(peak, rssOf(proxy.pid!))
        await sleep(20)
        if (proxy.exitCode !== null) throw new Error(`the proxy exited: ${stderr}`)
      }
      expect(got()).toBe(TOTAL)
      expect(consumer.bad()).toBe(-1)
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
