/**
 * Integration tests run real child processes on the *built* packages and
 * examples (plain `node`, no vitest loader). `ensureBuilt()` runs
 * `npm run build` when an output is missing or older than its sources, once
 * across all test files and both backend projects (a lock directory).
 */
import { execFile } from 'node:child_process'
import { mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url))
export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url))
export const HELPERS = fileURLToPath(new URL('./', import.meta.url))
export const EXAMPLES = join(ROOT, 'examples/dist')

const OUTPUTS: [string, string[]][] = [
  ['packages/core/dist/index.js', []],
  ['packages/tty/dist/index.js', ['packages/tty/src']],
  ['examples/dist/cat.js', ['examples/cat.ts']],
  ['examples/dist/safe-prompt.js', ['examples/safe-prompt.ts']],
  ['examples/dist/bench-stdout.js', ['examples/bench-stdout.ts']],
]

function mtime(p: string): number {
  try {
    const st = statSync(join(ROOT, p))
    if (!st.isDirectory()) return st.mtimeMs
    return Math.max(st.mtimeMs, ...readdirSync(join(ROOT, p)).map((f) => mtime(join(p, f))))
  } catch {
    return -1
  }
}

function stale(): boolean {
  return OUTPUTS.some(([out, srcs]) => {
    const t = mtime(out)
    return t < 0 || srcs.some((s) => mtime(s) > t)
  })
}

const LOCK = join(ROOT, 'packages/tty/test/.build-lock')

async function lock(): Promise<void> {
  for (const start = Date.now(); ; ) {
    try {
      mkdirSync(LOCK)
      return
    } catch {
      // A build crashed and left its lock: take it over after a while.
      if (Date.now() - start > 180_000) return
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > 180_000) rmdirSync(LOCK)
      } catch {}
      await new Promise((r) => setTimeout(r, 200))
    }
  }
}

/** Builds the workspace when the outputs these tests run are missing or stale. Use with a long hook timeout. */
export async function ensureBuilt(): Promise<void> {
  if (!stale()) return
  await lock()
  try {
    if (!stale()) return
    const log = await new Promise<string>((resolve) => {
      execFile('npm', ['run', 'build'], { cwd: ROOT, maxBuffer: 1 << 24 }, (err, out, errOut) => resolve(`${err ? String(err) : ''}\n${out}\n${errOut}`))
    })
    // A type error elsewhere in the workspace fails the .d.ts step, but the JS we run is still written.
    if (stale()) throw new Error(`npm run build did not produce fresh outputs:\n${log.slice(-4000)}`)
  } finally {
    try {
      rmdirSync(LOCK)
    } catch {}
  }
}
