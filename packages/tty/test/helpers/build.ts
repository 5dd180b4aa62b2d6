/**
 * Integration tests run real child processes on the *built* packages and
 * examples (plain `node`, no vitest loader). `ensureBuilt()` runs
 * `npm run build` when an output is missing or older than its sources, once
 * across all test files and both backend projects (a lock directory).
 */
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildOnce } from '../../../../test/helpers/build-once.js'

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

/**
 * Builds the workspace when the outputs these tests run are missing or stale,
 * under the one build lock every suite shares (`buildOnce`): a second lock
 * here let a tty build's `clean` delete `core/dist` under another suite's
 * child process. Use with a long hook timeout.
 */
export async function ensureBuilt(): Promise<void> {
  await buildOnce(stale)
  if (stale()) throw new Error('npm run build did not produce fresh outputs (run it to see why)')
}
