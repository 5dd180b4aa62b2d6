/**
 * Building the workspace from a test that runs the built `dist` (a child
 * `node`, with Node's own loader): the root `npm test` builds first, but a
 * suite run alone may find `dist` missing or older than the sources. One
 * builder at a time across the vitest projects (a lock directory).
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { sleep } from './waiting.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const LOCK = join(ROOT, 'scratch', '.build-lock')

/** Runs `npm run build` when `needed()` says so, holding the lock; re-checks under the lock (another project may have built). */
export async function buildOnce(needed: () => boolean): Promise<void> {
  if (!needed()) return
  mkdirSync(join(ROOT, 'scratch'), { recursive: true })
  for (const start = Date.now(); ; ) {
    try {
      mkdirSync(LOCK)
      break
    } catch {
      // Another project is building; a lock older than 3 minutes is a crashed build's: take it over.
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > 180_000) rmSync(LOCK, { recursive: true, force: true })
      } catch {}
      if (Date.now() - start > 300_000) throw new Error(`buildOnce: ${LOCK} held for 5 minutes`)
      await sleep(200)
    }
  }
  try {
    if (!needed()) return
    try {
      execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'pipe' })
    } catch (err) {
      // A type error elsewhere fails the .d.ts step after the JS we run was written.
      if (needed()) throw err
    }
  } finally {
    rmSync(LOCK, { recursive: true, force: true })
  }
}

/** True when a package's `dist/index.js` is missing or older than a file of its `src` (`packages` like `['core', 'net']`). */
export function distStale(packages: readonly string[]): boolean {
  const newest = (dir: string): number =>
    Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((d) => (d.isDirectory() ? newest(join(dir, d.name)) : statSync(join(dir, d.name)).mtimeMs)))
  const dists = packages.map((p) => join(ROOT, 'packages', p, 'dist', 'index.js'))
  if (!dists.every((d) => existsSync(d))) return true
  const built = Math.min(...dists.map((d) => statSync(d).mtimeMs))
  return packages.some((p) => newest(join(ROOT, 'packages', p, 'src')) > built)
}
