// Issue 12, item 4: an app that loads @ringio/* both as ESM and as CJS (a
// dependency that uses `require`) still gets one proactor, one read pool and
// one writer per shared fd. Runs the built dist in a fresh `node`, with Node's
// own loader (vitest's module runner would load one copy only).
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
// Core's transport entry: the proactor is there (the user entry has no getProactor).
const dist = (p: string, ext: 'js' | 'cjs'): string => `${root}packages/${p}/dist/${p === 'core' ? 'transport' : 'index'}.${ext}`;

const script = `
import { createRequire } from 'node:module'
const require = createRequire(import.meta.url)
const esm = { core: await import(${JSON.stringify(pathToFileURL(dist('core', 'js')).href)}), net: await import(${JSON.stringify(pathToFileURL(dist('net', 'js')).href)}), tty: await import(${JSON.stringify(pathToFileURL(dist('tty', 'js')).href)}) }
const cjs = { core: require(${JSON.stringify(dist('core', 'cjs'))}), net: require(${JSON.stringify(dist('net', 'cjs'))}), tty: require(${JSON.stringify(dist('tty', 'cjs'))}) }
const facts = {
  distinctModules: esm.core.getProactor !== cjs.core.getProactor,
  oneProactor: esm.core.getProactor() === cjs.core.getProactor(),
  oneStdout: esm.tty.stdout() === cjs.tty.stdout(),
  backend: cjs.core.backend(),
}
// A listener from one build, a client from the other: one ring serves both.
let port = 0
const sub = esm.net.listen({ host: '127.0.0.1', port: 0, onListening: (a) => (port = a.port) })
  .subscribe((c) => c.data$.subscribe({ next: (b) => c.write(b), complete: () => c.end() }))
const conn = await cjs.net.connect({ port })
const echoed = new Promise((resolve) => { let s = ''; conn.data$.subscribe({ next: (b) => (s += b), complete: () => resolve(s) }) })
await conn.write('ping')
await conn.end()
facts.echo = await echoed
sub.unsubscribe()
process.stderr.write(JSON.stringify(facts) + '\\n')
// Lines written alternately through both builds reach fd 1 in call order.
const outs = [esm.tty.stdout(), cjs.tty.stdout()]
for (let i = 0; i < 4000; i++) outs[i & 1].write(\`line \${i}\\n\`)
await outs[0].write('')
`;

const backend = process.env['RINGIO_BACKEND'] ?? 'uring';

describe(`ESM and CJS builds in one process (${backend})`, () => {
  it('share one proactor and one stdout writer: an echo across builds, 4000 alternating lines in order', () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '', RINGIO_BACKEND: backend },
      timeout: 20_000,
      maxBuffer: 1 << 24,
    });
    expect(r.status, r.stderr).toBe(0);
    const facts = JSON.parse(r.stderr.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(facts).toEqual({ distinctModules: true, oneProactor: true, oneStdout: true, backend, echo: 'ping' });
    const lines = r.stdout.split('\n').filter((l) => l !== '');
    expect(lines.length).toBe(4000);
    const firstOutOfOrder = lines.findIndex((l, i) => l !== `line ${i}`);
    expect(firstOutOfOrder).toBe(-1);
  });
});
