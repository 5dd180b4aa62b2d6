/**
 * The structure rules of the developers' guide, checked on the sources:
 * `core` knows nothing of the other packages; `net`, `fs` and `tty` depend on
 * `core` only, never on each other; no import cycles between source files
 * (type-only imports included: a cycle of types is still a tangle to read).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../', import.meta.url))
const PACKAGES = ['core', 'net', 'fs', 'tty'] as const

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    if (statSync(p).isDirectory()) return sources(p)
    return p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : []
  })
}

/** Every `import … from '…'` / `export … from '…'` specifier of a file. */
function specifiers(file: string): string[] {
  // Comments out first: TSDoc examples show imports too.
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '')
  return [...text.matchAll(/^\s*(?:import|export)\b[^'";]*?\bfrom\s+['"]([^'"]+)['"]/gm), ...text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]!)
}

const files = PACKAGES.flatMap((p) => sources(join(ROOT, 'packages', p, 'src')))
const graph = new Map<string, string[]>()
for (const f of files) {
  graph.set(
    f,
    specifiers(f)
      .filter((s) => s.startsWith('.'))
      .map((s) => resolve(dirname(f), s.replace(/\.js$/, '.ts'))),
  )
}

describe('source structure', () => {
  it('core imports no other ringio package; net, fs and tty import core only', () => {
    const wrong: string[] = []
    for (const f of files) {
      const pkg = relative(join(ROOT, 'packages'), f).split('/')[0]!
      for (const s of specifiers(f)) {
        const m = /^@ringio\/([a-z]+)/.exec(s)
        if (m === null) continue
        if (pkg === 'core' || m[1] !== 'core') wrong.push(`${relative(ROOT, f)} imports ${s}`)
      }
      // A relative import must stay inside its own package.
      for (const t of graph.get(f)!) if (!t.startsWith(join(ROOT, 'packages', pkg, 'src'))) wrong.push(`${relative(ROOT, f)} reaches ${relative(ROOT, t)}`)
    }
    expect(wrong).toEqual([])
  })

  it('has no import cycle between source files', () => {
    const cycles: string[] = []
    const state = new Map<string, 'open' | 'done'>()
    const path: string[] = []
    const visit = (f: string): void => {
      state.set(f, 'open')
      path.push(f)
      for (const t of graph.get(f) ?? []) {
        if (!graph.has(t)) continue
        if (state.get(t) === 'open') cycles.push(path.slice(path.indexOf(t)).concat(t).map((p) => relative(ROOT, p)).join(' -> '))
        else if (!state.has(t)) visit(t)
      }
      path.pop()
      state.set(f, 'done')
    }
    for (const f of files) if (!state.has(f)) visit(f)
    expect(cycles).toEqual([])
  })
})
