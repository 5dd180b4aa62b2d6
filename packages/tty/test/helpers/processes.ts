/**
 * Child processes for the integration tests: node on a fixture or a built
 * example, python3 helpers (the PTY driver, the flags watcher).
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { FIXTURES, HELPERS } from './build.js'

/** An event a fixture logged as `EV <json>`. */
export type Ev = { type: string } & Record<string, unknown>

/** Parses the `EV <json>` lines out of a fixture's output. */
export function events(text: string): Ev[] {
  return text
    .split(/\r?\n/)
    .filter((l) => l.includes('EV {'))
    .map((l) => JSON.parse(l.slice(l.indexOf('EV {') + 3)) as Ev)
}

/** Spawns `node fixtures/<name>` (a path containing '/' is used as is). */
export function node(script: string, args: string[], stdio: StdioOptions, env: Record<string, string> = {}): ChildProcess {
  const file = script.includes('/') ? script : join(FIXTURES, script)
  return spawn(process.execPath, [file, ...args], { stdio, env: { ...process.env, NODE_OPTIONS: '', ...env } })
}

/** Resolves with the exit code (or signal name) and the collected stderr, if piped. */
export function exited(child: ChildProcess): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  return new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stderr })))
}

/** Resolves when the child's stderr (piped) shows a line containing `text`. */
export function waitForLine(child: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stderr! })
    rl.on('line', (l) => {
      if (l.includes(text)) {
        rl.close()
        resolve()
      }
    })
    child.once('exit', () => reject(new Error(`exited before printing ${text}`)))
  })
}

/** The flags watcher's verdict. */
export interface WatchResult {
  nonblock_seen: Record<string, boolean>
  seen: Record<string, number>
  samples: number
}

/** Starts watching `pid:fd` descriptions' flags from outside; `add` more, `stop` for the verdict. */
export async function watchFlags(specs: string[]): Promise<{ add(spec: string): void; stop(): Promise<WatchResult> }> {
  const py = spawn('python3', [join(HELPERS, 'watch-flags.py'), ...specs], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: py.stdout! })
  const it = lines[Symbol.asyncIterator]()
  const first = await it.next()
  if (first.value !== 'ready') throw new Error(`watch-flags.py: ${String(first.value)}`)
  return {
    add: (spec) => py.stdin!.write(`${spec}\n`),
    async stop() {
      py.stdin!.end()
      const last = await it.next()
      return JSON.parse(String(last.value)) as WatchResult
    },
  }
}

/** What `pty-run.py` reports. */
export interface PtyResult {
  /** Everything the terminal showed, as latin1 text. */
  output: string
  /** The same, as bytes. */
  bytes: Buffer
  rc: number | null
  signal: string | null
  termios: Record<string, number[] | string>
  nonblock_seen: Record<string, boolean>
  samples: number
  error: string | null
}

/** Runs `spec.argv` on a fresh PTY (see pty-run.py for the spec). */
export function runPty(spec: Record<string, unknown>): Promise<PtyResult> {
  return new Promise((resolve, reject) => {
    const py = spawn('python3', [join(HELPERS, 'pty-run.py'), JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, NODE_OPTIONS: '' },
    })
    let out = ''
    py.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d))
    py.once('close', () => {
      try {
        const r = JSON.parse(out) as PtyResult
        const bytes = Buffer.from(r.output, 'base64')
        resolve({ ...r, bytes, output: bytes.toString('latin1') })
      } catch (e) {
        reject(new Error(`pty-run.py: ${String(e)}: ${out}`))
      }
    })
  })
}

/** `node <file>` argv for a PTY spec. */
export function nodeArgv(script: string, args: string[] = []): string[] {
  return [process.execPath, script.includes('/') ? script : join(FIXTURES, script), ...args]
}
