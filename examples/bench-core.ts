/**
 * The @ringio/core benchmark (issue 3 §6): how fast one operation goes round
 * the loop, how fast batches complete, and what one koffi call costs — each
 * beside a `setImmediate` ping-pong measured in the same run, so the figures
 * can be compared across noisy runs as ratios.
 *
 *   npm run bench:core                       # = npm run build && node examples/dist/bench-core.js
 *   RINGIO_BACKEND=poll node examples/dist/bench-core.js
 *   node examples/dist/bench-core.js --seconds 0.3 --no-write   # a quick smoke run
 *
 * Prints a table, and adds the run (a summary row, its markdown table and its
 * JSON) to `bench/results/core-YYYY-MM-DD.md`, with the commit it ran on.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, release } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import koffi from 'koffi'
import { backend, getProactor, nop, type Completion } from '@ringio/core/transport'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '2' },
    'no-write': { type: 'boolean', default: false },
  },
})
const SECONDS = Number(values.seconds)
if (!(SECONDS > 0)) throw new RangeError(`--seconds must be > 0, got ${values.seconds}`)
const MS = SECONDS * 1000
const WARMUP_MS = Math.min(300, MS / 4)

/** Targets from issue 3 §6. */
const TARGET_ROUNDTRIP_RATIO = 0.4
const TARGET_BATCHED_PER_S = 5_000_000
const BATCH = 64

// ---- the measurements ----

/** `setImmediate` ping-pong: one callback per loop turn, the loop-turn baseline. */
function immediateRate(ms: number): Promise<number> {
  return new Promise((resolve) => {
    let n = 0
    const t0 = performance.now()
    const end = t0 + ms
    const tick = (): void => {
      n++
      if ((n & 1023) === 0 && performance.now() >= end) resolve(n / ((performance.now() - t0) / 1000))
      else setImmediate(tick)
    }
    setImmediate(tick)
  })
}

/** `await nop()` in a loop: the public Promise API, one operation in flight. */
async function awaitNopRate(ms: number): Promise<number> {
  let n = 0
  const t0 = performance.now()
  const end = t0 + ms
  while (performance.now() < end) {
    for (let i = 0; i < 256; i++) await nop()
    n += 256
  }
  return n / ((performance.now() - t0) / 1000)
}

/** The raw Completion form: `p.nop(c)` re-issued from its own completion, one in flight. */
function callbackNopRate(ms: number): Promise<number> {
  const p = getProactor()
  return new Promise((resolve) => {
    let n = 0
    const t0 = performance.now()
    const end = t0 + ms
    const c: Completion = {
      complete() {
        n++
        if ((n & 255) === 0 && performance.now() >= end) resolve(n / ((performance.now() - t0) / 1000))
        else p.start({ kind: 'nop' }, c)
      },
    }
    p.start({ kind: 'nop' }, c)
  })
}

/** Batches of 64 NOPs through the Completion form: when all 64 completed, the next 64 start. */
function batchedRate(ms: number): Promise<number> {
  const p = getProactor()
  return new Promise((resolve) => {
    let n = 0
    let left = 0
    const t0 = performance.now()
    const end = t0 + ms
    const start = (): void => {
      left = BATCH
      for (let i = 0; i < BATCH; i++) p.start({ kind: 'nop' }, c)
    }
    const c: Completion = {
      complete() {
        n++
        if (--left > 0) return
        if ((n & 4095) === 0 && performance.now() >= end) resolve(n / ((performance.now() - t0) / 1000))
        else start()
      },
    }
    start()
  })
}

/** ns per call of `fn`, over `n` calls (after a short warm-up). */
function nsPerCall(n: number, fn: () => unknown): number {
  for (let i = 0; i < 10_000; i++) fn()
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) fn()
  return Number(process.hrtime.bigint() - t0) / n
}

// ---- the run ----

interface Result {
  date: string
  commit: string
  backend: string
  node: string
  kernel: string
  cpus: number
  /** 1-minute load average when the run started: other processes on a 2-CPU machine skew every figure. */
  loadavg1: number
  seconds: number
  immediatePerS: { before: number; after: number; mean: number }
  awaitNopPerS: number
  callbackNopPerS: number
  awaitNopRatio: number
  callbackNopRatio: number
  batchedPerS: number
  batchedRatio: number
  koffiNs: { abs: number; getpid: number; syscallEstimate: number }
  nodeGetuidNs: number
}

function commit(): string {
  try {
    const root = fileURLToPath(new URL('../../', import.meta.url))
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: root, encoding: 'utf8' }).trim() !== ''
    return dirty ? `${head} (+ uncommitted changes)` : head
  } catch {
    return 'unknown'
  }
}

async function main(): Promise<void> {
  const load = round(loadavg()[0]!, 2)
  const be = backend()
  console.log(`@ringio/core benchmark: backend ${be}, node ${process.version}, kernel ${release()}, ${cpus().length} CPUs, load ${load}, ${SECONDS} s per figure`)

  // Warm every path up (JIT, slot table growth, the ring's first pages).
  await immediateRate(WARMUP_MS)
  await awaitNopRate(WARMUP_MS)
  await callbackNopRate(WARMUP_MS)
  await batchedRate(WARMUP_MS)

  // The baseline before and after the round trips, so drift in a noisy machine shows.
  const immBefore = await immediateRate(MS)
  const awaitNop = await awaitNopRate(MS)
  const callbackNop = await callbackNopRate(MS)
  const immAfter = await immediateRate(MS)
  const batched = await batchedRate(MS)
  const immMean = (immBefore + immAfter) / 2

  const libc = koffi.load('libc.so.6')
  const abs = libc.func('int abs(int)') as (x: number) => number
  const getpid = libc.func('int getpid()') as () => number
  const CALLS = 1_000_000
  const absNs = nsPerCall(CALLS, () => abs(-3))
  const getpidNs = nsPerCall(CALLS, () => getpid())
  const getuidNs = nsPerCall(CALLS, () => process.getuid!())

  const r: Result = {
    date: new Date().toISOString(),
    commit: commit(),
    backend: be,
    node: process.version,
    kernel: release(),
    cpus: cpus().length,
    loadavg1: load,
    seconds: SECONDS,
    immediatePerS: { before: Math.round(immBefore), after: Math.round(immAfter), mean: Math.round(immMean) },
    awaitNopPerS: Math.round(awaitNop),
    callbackNopPerS: Math.round(callbackNop),
    awaitNopRatio: round(awaitNop / immMean, 3),
    callbackNopRatio: round(callbackNop / immMean, 3),
    batchedPerS: Math.round(batched),
    batchedRatio: round(batched / immMean, 2),
    koffiNs: { abs: round(absNs, 1), getpid: round(getpidNs, 1), syscallEstimate: round(getpidNs - absNs, 1) },
    nodeGetuidNs: round(getuidNs, 1),
  }

  const table = markdownTable(r)
  console.log()
  console.log(table)
  console.log()
  if (!values['no-write']) {
    const file = writeResult(r)
    console.log(`appended to ${file}`)
  }
  // The proactor holds no ref once idle: exiting here is the process's own doing.
}

function markdownTable(r: Result): string {
  const pass = (ok: boolean): string => (ok ? 'met' : '**missed**')
  const rate = (x: number): string => `${Math.round(x).toLocaleString('en-US')}/s`
  const us = (perS: number): string => `${(1e6 / perS).toFixed(2)} µs`
  const rows: string[][] = [
    ['figure', 'value', 'per op', 'vs setImmediate', 'target'],
    ['setImmediate ping-pong (before / after)', `${rate(r.immediatePerS.before)} / ${rate(r.immediatePerS.after)}`, us(r.immediatePerS.mean), '1.00x (mean)', ''],
    ['round trip: `await nop()`', rate(r.awaitNopPerS), us(r.awaitNopPerS), `${r.awaitNopRatio.toFixed(2)}x`, `≥ ${TARGET_ROUNDTRIP_RATIO}x: ${pass(r.awaitNopRatio >= TARGET_ROUNDTRIP_RATIO)}`],
    ['round trip: `p.nop(c)` from its completion', rate(r.callbackNopPerS), us(r.callbackNopPerS), `${r.callbackNopRatio.toFixed(2)}x`, `≥ ${TARGET_ROUNDTRIP_RATIO}x: ${pass(r.callbackNopRatio >= TARGET_ROUNDTRIP_RATIO)}`],
    [`batched: ${BATCH} NOPs per batch`, rate(r.batchedPerS), `${(1e9 / r.batchedPerS).toFixed(0)} ns`, `${r.batchedRatio.toFixed(1)}x`, `≥ ${TARGET_BATCHED_PER_S.toLocaleString('en-US')}/s: ${pass(r.batchedPerS >= TARGET_BATCHED_PER_S)}`],
    ['koffi call, no syscall (`abs`)', '', `${r.koffiNs.abs} ns`, '', ''],
    ['koffi call + syscall (`getpid`)', '', `${r.koffiNs.getpid} ns`, '', ''],
    ['  → the syscall alone (getpid − abs)', '', `${r.koffiNs.syscallEstimate} ns`, '', ''],
    ['Node native binding + syscall (`process.getuid()`)', '', `${r.nodeGetuidNs} ns`, '', ''],
  ]
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)))
  const line = (row: string[]): string => `| ${row.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
  return [line(rows[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n')
}

/**
 * Adds `r` to the day's results file and re-renders it: a summary row per run
 * (read back from each run's JSON block), then every run's table and JSON.
 */
function writeResult(r: Result): string {
  const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url))
  mkdirSync(dir, { recursive: true })
  const day = r.date.slice(0, 10)
  const file = join(dir, `core-${day}.md`)
  const runs: Result[] = []
  if (existsSync(file)) {
    for (const m of readFileSync(file, 'utf8').matchAll(/```json\n(.*)\n```/g)) runs.push(JSON.parse(m[1]!) as Result)
  }
  runs.push(r)
  const x = (v: number, d = 2): string => `${v.toFixed(d)}x`
  const k = (v: number): string => `${(v / 1000).toFixed(0)} k/s`
  const summary = [
    '| # | time (UTC) | backend | load (1 min) | setImmediate (mean) | `await nop()` | ratio | `p.nop(c)` | ratio | batched x64 | koffi call (abs / getpid) |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...runs.map(
      (u, i) =>
        `| ${i + 1} | ${u.date.slice(11, 19)} | ${u.backend} | ${u.loadavg1 ?? '?'} | ${k(u.immediatePerS.mean)} | ${k(u.awaitNopPerS)} | ${x(u.awaitNopRatio)} | ${k(u.callbackNopPerS)} | ${x(u.callbackNopRatio)} | ${(u.batchedPerS / 1e6).toFixed(2)} M/s | ${u.koffiNs.abs} / ${u.koffiNs.getpid} ns |`,
    ),
  ]
  const sections = runs.map((u, i) =>
    [
      `## Run ${i + 1}: ${u.date}, backend \`${u.backend}\``,
      '',
      `commit ${u.commit}; node ${u.node}; kernel ${u.kernel}; ${u.cpus} CPUs; load average ${u.loadavg1 ?? '?'} at start; ${u.seconds} s per figure`,
      ...(u.backend === 'poll'
        ? ['', 'On the poll backend a NOP never enters the kernel (its completion is queued in JS and delivered from one `setImmediate` per turn): these figures measure that queue, not a syscall round trip.']
        : []),
      '',
      markdownTable(u),
      '',
      '```json',
      JSON.stringify(u),
      '```',
      '',
    ].join('\n'),
  )
  writeFileSync(
    file,
    [
      `# @ringio/core benchmark, ${day}`,
      '',
      'Produced by `examples/bench-core.ts` (`npm run bench:core`; `RINGIO_BACKEND=poll node examples/dist/bench-core.js`',
      'for the fallback); each run adds a row and a section. Ratios are against the `setImmediate` ping-pong of the same',
      "run (the mean of one measured before and one after the round trips), which absorbs much of a noisy machine's drift.",
      `Targets (issue 3 §6): round trips ≥ ${TARGET_ROUNDTRIP_RATIO}x setImmediate; ≥ ${TARGET_BATCHED_PER_S.toLocaleString('en-US')} batched completions/s.`,
      '',
      ...summary,
      '',
      ...sections,
    ].join('\n'),
  )
  return file
}

function round(x: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

await main()
