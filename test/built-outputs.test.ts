// Smoke test of the published artefacts: run after `npm run build`.
// Loads each package's dist both as ESM (import) and CJS (require) with plain
// Node resolution (no vite aliases: @ringio/* resolve through the workspace
// symlinks to the built dist) and checks that both load, export something,
// and export the same names.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const PACKAGES = ['core', 'net', 'fs', 'tty'] as const;

// Runs in a fresh `node` so the loader is Node's own, not vitest's module runner.
function exportedNames(kind: 'esm' | 'cjs', file: string): string[] {
  const load =
    kind === 'esm'
      ? `const m = await import(${JSON.stringify(pathToFileURL(file).href)});`
      : `const m = (await import('node:module')).createRequire(import.meta.url)(${JSON.stringify(file)});`;
  const script = `${load}
const skip = new Set(['default', '__esModule', 'module.exports']);
process.stdout.write(JSON.stringify(Object.keys(m).filter((k) => !skip.has(k)).sort()));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  return JSON.parse(out) as string[];
}

describe.each(PACKAGES)('@ringio/%s built output', (p) => {
  const dist = `${root}packages/${p}/dist`;
  const esmPath = `${dist}/index.js`;
  const cjsPath = `${dist}/index.cjs`;

  it('has dist files (run `npm run build` first)', () => {
    for (const f of [esmPath, cjsPath, `${dist}/index.d.ts`, `${dist}/index.d.cts`]) {
      expect(existsSync(f), `${f} is missing`).toBe(true);
    }
  });

  it('ESM and CJS load and export the same non-empty set of names', () => {
    const esmNames = exportedNames('esm', esmPath);
    const cjsNames = exportedNames('cjs', cjsPath);
    expect(esmNames.length).toBeGreaterThan(0);
    expect(cjsNames).toEqual(esmNames);
  });
});
