// The documented stdin-to-stdout patterns in a shell pipeline whose reader
// leaves early (`yes | node filter.mjs | head -3`): the filter must end by
// itself, quietly, with status 141 (what a shell shows for `cat` or `tr`
// killed by SIGPIPE there) — on both backends, through the ring's small
// writes and the pipe's bulk path. Before, it read `yes` forever at 100 % CPU.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt, ROOT } from './helpers/build.js'

beforeAll(ensureBuilt, 180_000)
const dir = mkdtempSync(join(tmpdir(), 'ringio-tty-epipe-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const TTY = JSON.stringify(pathToFileURL(join(ROOT, 'packages/tty/dist/index.js')).href)
const BACKEND = process.env['RINGIO_BACKEND'] ?? 'uring'
/** A pipeline still running after this long has hung: it is killed and the test fails. */
const LIMIT_MS = 10_000

/** The scripts under test, written to `dir` as `<name>.mjs`. */
const SCRIPTS: Record<string, string> = {
  // input.ts's `stdin()` example, as is.
  filter: `
    import { stdin, stdout } from ${TTY}
    const out = stdout()
    stdin({ pace: () => out.ready() }).subscribe((ev) => {
      if (ev.type === 'data') void out.write(ev.data)
      if (ev.type === 'eof') void out.write('^D\\n')
    })`,
  // index.ts's package example, as is.
  package: `
    import { exit, stdin, stdout, stderr } from ${TTY}
    const out = stdout()
    stdin({ pace: () => out.ready() }).subscribe({
      next: (ev) => {
        if (ev.type === 'data') void out.write(ev.data)
        else if (ev.type === 'eof') void stderr().write('^D\\n')
      },
      complete: () => void exit(0),
    })`,
  // The same filter with one small write per line: the shared-chunk path.
  lines: `
    import { stdin, stdout } from ${TTY}
    const out = stdout()
    stdin({ pace: () => out.ready() }).subscribe((ev) => {
      if (ev.type !== 'data') return
      for (const line of ev.data.toString('latin1').split('\\n')) if (line !== '') void out.write(line.toUpperCase() + '\\n')
    })`,
  // Writer.ready()'s example with 1 MiB writes: the pipe's bulk path, 2 MiB queued when the reader leaves.
  bulk: `
    import { stdout } from ${TTY}
    const out = stdout()
    const big = Buffer.alloc(1 << 20, 'x')
    for (;;) {
      void out.write(big)
      if (!out.writable) await out.ready()
    }`,
  // Awaiting each write, with nothing around it to catch the EPIPE: still no crash, no stack trace.
  awaited: `
    import { stdout } from ${TTY}
    const out = stdout()
    const big = Buffer.alloc(300_000, 'x')
    for (;;) await out.write(big)`,
  // The opt-out: the program handles EPIPE itself; pace then errors the stream with it.
  optOut: `
    import { writeSync } from 'node:fs'
    import { stdin, stdout } from ${TTY}
    const out = stdout({ onEpipe: 'error' })
    stdin({ pace: () => out.ready() }).subscribe({
      next: (ev) => { if (ev.type === 'data') void out.write(ev.data) },
      error: (e) => {
        writeSync(2, \`handled \${e.code} \${e.op}\\n\`)
        process.exitCode = 3
      },
    })`,
}
for (const [name, text] of Object.entries(SCRIPTS)) writeFileSync(join(dir, `${name}.mjs`), text)

interface Run {
  /** What the last command of the pipeline printed. */
  out: string
  /** The script's exit status, from `PIPESTATUS`. */
  status: number
  /** Everything else on stderr (the script's own stderr included). */
  noise: string
  ms: number
}

/** Runs `producer | node <script> | consumer` in bash (no pipefail); kills it and fails after {@link LIMIT_MS}. */
function pipeline(script: string, producer: string, consumer: string, stage = 1): Promise<Run> {
  const line = `set +o pipefail; ${producer} | node ${join(dir, `${script}.mjs`)} | ${consumer}; echo "STATUS \${PIPESTATUS[${stage}]}" >&2`
  const started = Date.now()
  const sh = spawn('bash', ['-c', line], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: a hang is killed whole
    env: { ...process.env, NODE_OPTIONS: '', RINGIO_BACKEND: BACKEND },
  })
  let out = ''
  let err = ''
  sh.stdout!.setEncoding('latin1').on('data', (d: string) => (out += d))
  sh.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-sh.pid!, 'SIGKILL')
      } catch {}
      reject(new Error(`\`${producer} | ${script} | ${consumer}\` still running after ${LIMIT_MS} ms (stderr: ${err.slice(0, 500)})`))
    }, LIMIT_MS)
    sh.once('close', () => {
      clearTimeout(timer)
      const m = /^STATUS (\d+)$/m.exec(err)
      resolve({ out, status: m ? Number(m[1]) : -1, noise: err.replace(/^STATUS \d+\n/m, ''), ms: Date.now() - started })
    })
  })
}

describe(`EPIPE on stdout (${BACKEND})`, () => {
  it.each(['filter', 'package'])('the documented %s pattern ends quietly with 141 under `yes | … | head -3` (5 runs)', async (script) => {
    for (let i = 0; i < 5; i++) {
      const r = await pipeline(script, 'yes', 'head -3')
      expect(r.out).toBe('y\ny\ny\n')
      expect(r.noise).toBe('')
      expect(r.status).toBe(141)
      expect(r.ms).toBeLessThan(LIMIT_MS)
    }
  }, 5 * LIMIT_MS)

  it('small line writes (one write per line) end the same way', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await pipeline('lines', 'yes', 'head -3')
      expect(r.out).toBe('Y\nY\nY\n')
      expect(r.noise).toBe('')
      expect(r.status).toBe(141)
    }
  }, 3 * LIMIT_MS)

  it('big writes queued on the bulk path when the reader leaves: 141, quietly', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await pipeline('bulk', 'true', 'head -c 100')
      expect(r.out).toBe('x'.repeat(100))
      expect(r.noise).toBe('')
      expect(r.status).toBe(141)
    }
  }, 3 * LIMIT_MS)

  it('an awaited write that rejects with EPIPE in unguarded code: no crash, no stack trace, 141', async () => {
    const r = await pipeline('awaited', 'true', 'head -c 100')
    expect(r.out).toBe('x'.repeat(100))
    expect(r.noise).toBe('')
    expect(r.status).toBe(141)
  })

  it('a reader that leaves before the first write: 141', async () => {
    const r = await pipeline('filter', 'yes', 'true')
    expect(r.out).toBe('')
    expect(r.noise).toBe('')
    expect(r.status).toBe(141)
  })

  it("with onEpipe: 'error' the stdin stream errors with the IoError and the program decides (exit 3 here)", async () => {
    const r = await pipeline('optOut', 'yes', 'head -3')
    expect(r.out).toBe('y\ny\ny\n')
    expect(r.noise).toBe('handled EPIPE write\n')
    expect(r.status).toBe(3)
  })

  it('without EPIPE the filter copies everything and ends 0 at the end of input', async () => {
    const r = await pipeline('package', 'seq 1 20000', 'cat')
    expect(r.out).toBe(Array.from({ length: 20000 }, (_, i) => `${i + 1}\n`).join(''))
    expect(r.noise).toBe('')
    expect(r.status).toBe(0)
  })
})
