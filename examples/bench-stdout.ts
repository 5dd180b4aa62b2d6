/**
 * stdout throughput into a pipe: ringio's `stdout()` writer vs
 * `process.stdout.write` vs `fs.writeSync(1, …)`, each in its own child
 * process writing the same bytes into a real pipe (a FIFO) that this process
 * drains, in the same run. Also reports whether O_NONBLOCK ever appeared on
 * the child's fd 1 (sampled from /proc/<pid>/fdinfo/1).
 *
 * Throughput is counted from the first byte received (Node's start-up is not
 * the writer's cost) and reported in MiB/s. A second part runs the same
 * writers into `cat > /dev/null`, a reader that is never the bottleneck. The ratios are given three ways:
 * of the medians, of the bests, and the median of the ratios within each
 * round (the steadiest on a shared, noisy machine).
 *
 * The fast-reader part writes `--cat-mib` (default 1 GiB): at 2–5 GiB/s a
 * run of 256 MiB lasts under 100 ms, most of it before V8 has optimized the
 * writer's code (ringio's rate climbs for ~300 ms), so a short run measures
 * warm-up more than throughput.
 *
 * A third part writes `--lines` 100-byte lines (strings, one `write` each:
 * what a CLI printing its results does) into `cat > /dev/null`.
 *
 *   node examples/dist/bench-stdout.js [--mib 256] [--cat-mib 1024] [--lines 2000000] [--chunk 65536] [--rounds 7]
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { closeSync, constants, mkdtempSync, openSync, read, readFileSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const METHODS = ['ringio', 'process.stdout', 'fs.writeSync'] as const
type Method = (typeof METHODS)[number]

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    mib: { type: 'string', default: '256' },
    chunk: { type: 'string', default: '65536' },
    rounds: { type: 'string', default: '7' },
    'cat-mib': { type: 'string', default: '1024' },
    lines: { type: 'string', default: '2000000' },
  },
})

// ---- child: write `bytes` to fd 1 with one method ----

async function child(method: Method, bytes: number, chunkSize: number, lines: boolean): Promise<void> {
  // Lines are strings ending in a newline; otherwise one Buffer written again and again.
  const chunk: Buffer | string = lines ? `${'a'.repeat(chunkSize - 1)}\n` : Buffer.alloc(chunkSize, 0x61)
  const n = Math.ceil(bytes / chunkSize)
  // Loaded before the clock starts: module loading is not the writer's cost.
  const tty = method === 'ringio' ? await import('@ringio/tty') : null
  const t0 = process.hrtime.bigint()
  if (method === 'fs.writeSync') {
    if (typeof chunk === 'string') for (let i = 0; i < n; i++) writeSync(1, chunk) // a pipe write of <= PIPE_BUF bytes is whole
    else for (let i = 0; i < n; i++) for (let off = 0; off < chunk.length; ) off += writeSync(1, chunk, off)
  } else if (method === 'process.stdout') {
    const out = process.stdout
    for (let i = 0; i < n; i++) if (!out.write(chunk)) await new Promise((r) => out.once('drain', r))
    await new Promise<void>((r) => out.end(r))
  } else {
    const out = tty!.stdout()
    for (let i = 0; i < n; i++) {
      void out.write(chunk)
      if (!out.writable) await out.ready()
    }
    await out.flush()
  }
  // The fast-reader runs time the writer itself: from its first write until the last byte is in the pipe.
  if (process.env['BENCH_SELF_TIME'] === '1') writeSync(2, `${Number(process.hrtime.bigint() - t0) / 1e9}\n`)
}

/** One writer into `cat > /dev/null`, which drains as fast as the kernel lets it: MiB/s as the writer timed itself. */
function runIntoCat(method: Method, bytes: number, chunkSize: number, lines = false): number {
  const self = fileURLToPath(import.meta.url)
  const q = (x: string): string => `'${x.replace(/'/g, `'\\''`)}'`
  const cmd = `${q(process.execPath)} ${q(self)} child ${q(method)} ${bytes} ${chunkSize} ${lines ? 'lines' : 'bytes'} | cat > /dev/null`
  const r = spawnSync('sh', ['-c', cmd], { env: { ...process.env, NODE_OPTIONS: '', BENCH_SELF_TIME: '1' }, encoding: 'utf8' })
  const secs = Number(r.stderr.trim().split('\n').pop())
  if (r.status !== 0 || !(secs > 0)) throw new Error(`${method} into cat failed (exit ${r.status}): ${r.stderr}`)
  return bytes / 2 ** 20 / secs
}

// ---- parent: drain a FIFO per child, time it, watch the flags ----

interface Result {
  method: Method
  mbps: number
  nonblockSeen: boolean
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

async function run(method: Method, bytes: number, chunkSize: number, dir: string): Promise<Result> {
  const fifo = join(dir, `${method}.fifo`)
  execFileSync('mkfifo', [fifo])
  // Open the read end first without blocking, then the write end (a reader exists), then a blocking reader.
  const rNb = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK)
  const w = openSync(fifo, constants.O_WRONLY)
  const r = openSync(fifo, constants.O_RDONLY)
  closeSync(rNb)
  const env = { ...process.env, NODE_OPTIONS: '' }
  const self = fileURLToPath(import.meta.url)
  const proc = spawn(process.execPath, [self, 'child', method, String(bytes), String(chunkSize)], { stdio: ['ignore', w, 'inherit'], env })
  closeSync(w)
  let nonblockSeen = false
  const sampler = setInterval(() => {
    try {
      const m = /flags:\s*(\d+)/.exec(readFileSync(`/proc/${proc.pid}/fdinfo/1`, 'utf8'))
      if (m && (parseInt(m[1]!, 8) & constants.O_NONBLOCK) !== 0) nonblockSeen = true
    } catch {
      // the child has exited
    }
  }, 2)
  const buf = Buffer.allocUnsafe(1 << 20)
  let got = 0
  let t0 = 0n
  for (;;) {
    const n = await new Promise<number>((res, rej) => read(r, buf, 0, buf.length, null, (e, k) => (e ? rej(e) : res(k))))
    if (n === 0) break
    if (got === 0) t0 = process.hrtime.bigint() // from the first byte: node's start-up is not the writer's cost
    got += n
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9
  clearInterval(sampler)
  closeSync(r)
  await new Promise((res) => (proc.exitCode !== null ? res(null) : proc.once('exit', res)))
  if (got < bytes) throw new Error(`${method}: got ${got} of ${bytes} bytes (exit ${proc.exitCode})`)
  return { method, mbps: got / 2 ** 20 / secs, nonblockSeen }
}

async function parent(): Promise<void> {
  const bytes = Number(values.mib) * 2 ** 20
  const chunkSize = Number(values.chunk)
  const rounds = Number(values.rounds)
  const dir = mkdtempSync(join(tmpdir(), 'ringio-bench-stdout-'))
  const runs = new Map<Method, Result[]>(METHODS.map((m) => [m, []]))
  try {
    // Interleaved, so a noisy neighbour slows every method alike.
    for (let round = 0; round < rounds; round++) {
      for (const m of METHODS) {
        runs.get(m)!.push(await run(m, bytes, chunkSize, dir))
        rmSync(join(dir, `${m}.fifo`))
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const backend = process.env['RINGIO_BACKEND'] ?? 'auto'
  const med = (m: Method): number => median(runs.get(m)!.map((r) => r.mbps))
  const best = (m: Method): number => Math.max(...runs.get(m)!.map((r) => r.mbps))
  const lines = [`stdout into a pipe: ${values.mib} MiB in ${chunkSize}-byte writes, ${rounds} rounds (RINGIO_BACKEND=${backend})`]
  lines.push(`  ${'method'.padEnd(15)} ${'median'.padStart(7)} ${'best'.padStart(7)} MiB/s   O_NONBLOCK ever on the shared fd 1`)
  for (const m of METHODS) {
    const seen = runs.get(m)!.some((r) => r.nonblockSeen)
    lines.push(`  ${m.padEnd(15)} ${med(m).toFixed(0).padStart(7)} ${best(m).toFixed(0).padStart(7)}         ${seen ? 'yes' : 'never'}`)
  }
  // Each round runs the three back to back: a ratio within a round sees the same neighbours.
  const paired = (m: Method): number => median(runs.get('ringio')!.map((r, i) => r.mbps / runs.get(m)![i]!.mbps))
  lines.push(
    `  ringio / process.stdout = ${(med('ringio') / med('process.stdout')).toFixed(2)}x (median), ${(best('ringio') / best('process.stdout')).toFixed(2)}x (best), ${paired('process.stdout').toFixed(2)}x (median of per-round ratios)`,
  )
  lines.push(
    `  ringio / fs.writeSync   = ${(med('ringio') / med('fs.writeSync')).toFixed(2)}x (median), ${(best('ringio') / best('fs.writeSync')).toFixed(2)}x (best), ${paired('fs.writeSync').toFixed(2)}x (median of per-round ratios)`,
  )
  writeSync(1, `${lines.join('\n')}\n`)
  intoCat(Number(values['cat-mib']) * 2 ** 20, chunkSize, rounds)
  linesIntoCat(Number(values.lines), rounds)
}

/** 100-byte lines, one `write` each, into `cat > /dev/null`: the per-write cost of each writer. */
function linesIntoCat(count: number, rounds: number): void {
  const LINE = 100
  const runs = new Map<Method, number[]>(METHODS.map((m) => [m, []]))
  for (let round = 0; round < rounds; round++) {
    for (const m of METHODS) runs.get(m)!.push((runIntoCat(m, count * LINE, LINE, true) * 2 ** 20) / LINE / 1e6)
  }
  const med = (m: Method): number => median(runs.get(m)!)
  const paired = (m: Method): number => median(runs.get('ringio')!.map((r, i) => r / runs.get(m)![i]!))
  const lines = [`${count} lines of ${LINE} bytes (strings, one write each) into \`cat > /dev/null\`, ${rounds} rounds`]
  for (const m of METHODS) lines.push(`  ${m.padEnd(15)} ${med(m).toFixed(2).padStart(7)} M lines/s (median)`)
  lines.push(`  ringio / process.stdout = ${paired('process.stdout').toFixed(2)}x, ringio / fs.writeSync = ${paired('fs.writeSync').toFixed(2)}x (median of per-round ratios)`)
  writeSync(1, `${lines.join('\n')}\n`)
}

/**
 * The same writers into `cat > /dev/null`. The FIFO reader above is a Node
 * process reading on its threadpool, and it paces every writer alike; `cat`
 * drains as fast as the pipe allows, so this part shows the writers' own speed.
 */
function intoCat(bytes: number, chunkSize: number, rounds: number): void {
  const runs = new Map<Method, number[]>(METHODS.map((m) => [m, []]))
  for (let round = 0; round < rounds; round++) for (const m of METHODS) runs.get(m)!.push(runIntoCat(m, bytes, chunkSize))
  const med = (m: Method): number => median(runs.get(m)!)
  const paired = (m: Method): number => median(runs.get('ringio')!.map((r, i) => r / runs.get(m)![i]!))
  const lines = [`stdout into \`cat > /dev/null\` (a fast reader; each writer times itself): ${bytes / 2 ** 20} MiB, ${rounds} rounds`]
  for (const m of METHODS) lines.push(`  ${m.padEnd(15)} ${med(m).toFixed(0).padStart(7)} MiB/s (median)`)
  lines.push(`  ringio / process.stdout = ${paired('process.stdout').toFixed(2)}x, ringio / fs.writeSync = ${paired('fs.writeSync').toFixed(2)}x (median of per-round ratios)`)
  writeSync(1, `${lines.join('\n')}\n`)
}

if (positionals[0] === 'child') await child(positionals[1] as Method, Number(positionals[2]), Number(positionals[3]), positionals[4] === 'lines')
else await parent()
