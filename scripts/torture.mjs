#!/usr/bin/env node
// `npm run torture`: runs the net stress and fault suites N times per backend, each run in its own
// `npx vitest run --project <backend> <files>` process group with a hard timeout, and reports
// passes, failures and hangs (a run over the timeout: its group is killed and its last output and
// any STALL-DUMP blocks the tests printed are shown). Exits non-zero on any failure or hang.
//
//   node scripts/torture.mjs [--runs 20] [--backend uring|poll|both] [--files a,b] [--timeout 300]
//
// --files keeps the suites whose path contains one of the comma-separated strings.
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const TEST_DIR = 'packages/net/test'
/** The suites: fixed names, plus the fault and stall files by pattern (they may be split or absent). */
const SUITES = [/^ordering\.test\.ts$/, /^read-pool-small\.test\.ts$/, /^lifecycle\.test\.ts$/, /^faults.*\.test\.ts$/, /^stall.*\.test\.ts$/]
const TAIL_LINES = 60

function usage(msg) {
  if (msg) console.error(`torture: ${msg}`)
  console.error('usage: node scripts/torture.mjs [--runs N] [--backend uring|poll|both] [--files a,b] [--timeout SECONDS]')
  process.exit(2)
}

function parseArgs(argv) {
  const o = { runs: 20, backend: 'both', files: null, timeout: 300 }
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2)
    const value = () => inline ?? argv[++i] ?? usage(`${flag} needs a value`)
    if (flag === '--runs') o.runs = Number(value())
    else if (flag === '--backend') o.backend = value()
    else if (flag === '--files') o.files = value().split(',').filter(Boolean)
    else if (flag === '--timeout') o.timeout = Number(value())
    else if (flag === '--help' || flag === '-h') usage()
    else usage(`unknown argument ${argv[i]}`)
  }
  if (!Number.isInteger(o.runs) || o.runs < 1) usage('--runs must be a positive integer')
  if (!['uring', 'poll', 'both'].includes(o.backend)) usage('--backend must be uring, poll or both')
  if (!(o.timeout > 0)) usage('--timeout must be a positive number of seconds')
  return o
}

function suites(filter) {
  const names = readdirSync(join(ROOT, TEST_DIR)).filter((f) => SUITES.some((re) => re.test(f))).sort()
  const files = names.map((f) => `${TEST_DIR}/${f}`)
  return filter === null ? files : files.filter((f) => filter.some((s) => f.includes(s)))
}

/** Keeps the last `max` lines written to it. */
class Tail {
  constructor(max) {
    this.max = max
    this.lines = []
    this.partial = ''
  }
  push(text) {
    const parts = (this.partial + text).split('\n')
    this.partial = parts.pop()
    for (const l of parts) this.lines.push(l)
    if (this.lines.length > this.max * 2) this.lines.splice(0, this.lines.length - this.max)
  }
  text() {
    return [...this.lines, this.partial].slice(-this.max).join('\n')
  }
}

/** Collects the STALL-DUMP blocks of a stream: the marker line and the indented lines after it. */
class Dumps {
  constructor() {
    this.blocks = []
    this.current = null
    this.partial = ''
  }
  push(text) {
    const parts = (this.partial + text).split('\n')
    this.partial = parts.pop()
    for (const l of parts) {
      if (/^\s*STALL-DUMP/.test(l)) this.blocks.push((this.current = [l]))
      else if (this.current !== null && /^\s+\S/.test(l) && this.current.length < 80) this.current.push(l)
      else this.current = null
    }
  }
  text() {
    return this.blocks.map((b) => b.join('\n')).join('\n')
  }
}

/** The run under way: on Ctrl-C its process group (detached, so not reached by the terminal's SIGINT) is killed. */
let current = null

/** One vitest run: resolves with { outcome: 'pass'|'fail'|'hang', ms, tail, dumps, report }. */
function runOnce(backend, files, timeoutMs, jsonFile) {
  const t0 = Date.now()
  const args = ['vitest', 'run', '--project', backend, '--reporter=default', '--reporter=json', `--outputFile.json=${jsonFile}`, ...files]
  // detached: a process group of its own, so a hang is killed with every worker it forked.
  const child = spawn('npx', args, { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } })
  const tail = new Tail(TAIL_LINES)
  const dumps = new Dumps()
  child.stdout.setEncoding('utf8').on('data', (d) => tail.push(d))
  child.stderr.setEncoding('utf8').on('data', (d) => {
    tail.push(d)
    dumps.push(d)
  })
  let hung = false
  current = child
  const killGroup = (sig) => {
    try {
      process.kill(-child.pid, sig)
    } catch {}
  }
  const timer = setTimeout(() => {
    hung = true
    killGroup('SIGTERM')
    setTimeout(() => killGroup('SIGKILL'), 5000).unref()
  }, timeoutMs)
  return new Promise((resolve) => {
    child.once('close', (code) => {
      clearTimeout(timer)
      current = null
      killGroup('SIGKILL') // workers left behind by a crashed runner
      let report = null
      try {
        report = JSON.parse(readFileSync(jsonFile, 'utf8'))
      } catch {}
      rmSync(jsonFile, { force: true })
      const outcome = hung ? 'hang' : code === 0 ? 'pass' : 'fail'
      resolve({ outcome, ms: Date.now() - t0, tail: tail.text(), dumps: dumps.text(), report })
    })
  })
}

/** Per-file failure messages of a run's JSON report ({} when every file passed or no report). */
function failuresByFile(report) {
  const out = {}
  for (const f of report?.testResults ?? []) {
    const msgs = (f.assertionResults ?? [])
      .filter((a) => a.status === 'failed')
      .map((a) => `✗ ${a.fullName ?? a.title}\n${(a.failureMessages ?? []).join('\n')}`)
    if (f.status === 'failed' || msgs.length > 0) {
      const name = f.name.startsWith(ROOT) ? f.name.slice(ROOT.length) : f.name
      out[name] = (msgs.length > 0 ? msgs : [f.message ?? '(the file failed outside its tests)']).join('\n')
    }
  }
  return out
}

function clip(text, lines) {
  const ls = text.split('\n')
  return ls.length <= lines ? text : [...ls.slice(0, lines), `… (${ls.length - lines} more lines)`].join('\n')
}

function pad(s, n) {
  return String(s).padEnd(n)
}

async function main() {
  const o = parseArgs(process.argv.slice(2))
  const files = suites(o.files)
  if (files.length === 0) usage('no suite matches --files')
  const backends = o.backend === 'both' ? ['uring', 'poll'] : [o.backend]
  const tmp = mkdtempSync(join(tmpdir(), 'ringio-torture-'))
  console.log(`torture: ${o.runs} run(s) x ${backends.join(', ')}, timeout ${o.timeout} s per run, suites:\n  ${files.join('\n  ')}\n`)

  const stats = Object.fromEntries(backends.map((b) => [b, { runs: 0, passes: 0, failures: 0, hangs: 0 }]))
  const fileFails = {} // file -> { count, first: { backend, run, text } }
  const hangs = []
  let interrupted = false
  process.on('SIGINT', () => {
    interrupted = true
    try {
      if (current !== null) process.kill(-current.pid, 'SIGKILL')
    } catch {}
  })

  for (let run = 1; run <= o.runs && !interrupted; run++) {
    for (const backend of backends) {
      if (interrupted) break
      const r = await runOnce(backend, files, o.timeout * 1000, join(tmp, `report-${backend}-${run}.json`))
      const s = stats[backend]
      s.runs++
      if (r.outcome === 'pass') s.passes++
      else if (r.outcome === 'hang') s.hangs++
      else s.failures++
      console.log(`[run ${run}/${o.runs} ${pad(backend, 5)}] ${r.outcome.toUpperCase()} in ${(r.ms / 1000).toFixed(1)} s`)
      if (r.outcome === 'hang') {
        hangs.push({ backend, run })
        console.log(`--- HANG: killed after ${o.timeout} s; last ${TAIL_LINES} lines of output ---\n${r.tail}`)
        if (r.dumps) console.log(`--- STALL-DUMP blocks ---\n${r.dumps}`)
        console.log('--- end of hang ---')
      } else if (r.outcome === 'fail') {
        let byFile = failuresByFile(r.report)
        // Exited non-zero with no failed test in the report: an error outside the tests.
        if (Object.keys(byFile).length === 0) byFile = { '(the run itself)': r.tail }
        for (const [file, text] of Object.entries(byFile)) {
          const f = (fileFails[file] ??= { count: 0, first: null })
          f.count++
          f.first ??= { backend, run, text: r.dumps ? `${text}\n--- STALL-DUMP blocks ---\n${r.dumps}` : text }
        }
        console.log(`  failed: ${Object.keys(byFile).join(', ')}`)
      }
    }
  }
  rmSync(tmp, { recursive: true, force: true })

  console.log(`\n${pad('backend', 9)}${pad('runs', 7)}${pad('passes', 8)}${pad('failures', 10)}hangs`)
  for (const b of backends) {
    const s = stats[b]
    console.log(`${pad(b, 9)}${pad(s.runs, 7)}${pad(s.passes, 8)}${pad(s.failures, 10)}${s.hangs}`)
  }
  const failedFiles = Object.entries(fileFails)
  for (const [file, f] of failedFiles) {
    console.log(`\n=== ${file}: failed in ${f.count} run(s); the first (${f.first.backend}, run ${f.first.run}) ===\n${clip(f.first.text, 80)}`)
  }
  if (hangs.length > 0) console.log(`\nhangs: ${hangs.map((h) => `${h.backend} run ${h.run}`).join(', ')}`)
  if (interrupted) console.log('\ninterrupted')
  const bad = Object.values(stats).some((s) => s.failures > 0 || s.hangs > 0) || interrupted
  process.exit(bad ? 1 : 0)
}

main().catch((e) => {
  console.error(e)
  process.exit(2)
})
