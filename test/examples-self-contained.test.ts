// The examples that run to completion on their own, run as users run them:
// plain `node examples/dist/<name>.js` after `npm run build`, on the backend of
// the vitest project. Their printed results are the assertions.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

function run(name: string): string {
  return execFileSync(process.execPath, [`${root}examples/dist/${name}.js`], {
    cwd: root,
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, NODE_OPTIONS: '' },
  });
}

describe(`self-contained examples (${process.env['RINGIO_BACKEND']})`, () => {
  it('seqpacket-rpc: calls over SOCK_SEQPACKET, and a file written through a passed descriptor', () => {
    const out = run('seqpacket-rpc');
    expect(out).toContain('add(2, 40) = 42');
    expect(out).toContain("upper('seqpacket') = SEQPACKET");
    expect(out).toContain('nope() -> no method nope');
    expect(out).toContain('note(fd) wrote 61 bytes: written by the server through a descriptor the client passed');
  });

  it('custom-codec: a RESP subset written as a Codec answers each command', () => {
    const out = run('custom-codec');
    expect(out).toMatch(/INCR hits\s+-> 2/);
    expect(out).toMatch(/GET missing\s+-> null/);
    expect(out).toContain("(error) ERR unknown command 'FLY'");
  });
});
