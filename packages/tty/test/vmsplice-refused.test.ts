// Where vmsplice(2) is refused — a container's seccomp profile, an emulated
// kernel — the pipe writer falls back to writing: a child run under a real
// seccomp filter that fails vmsplice with EPERM still delivers every byte, in
// order. Without the fallback its writes reject with EPERM.
import { execFileSync, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { closeSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { thpPossible } from '@ringio/core/transport'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt, FIXTURES, HELPERS, ROOT } from './helpers/build.js'
import { makePipe } from './helpers/fifo.js'
import { exited } from './helpers/processes.js'
import { pattern } from './fixtures/pattern.mjs'
import { hasTool } from '../../../test/helpers/tools.js'

const SYS_VMSPLICE = 278 // x86-64
const EPERM = 1
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')


const dir = mkdtempSync(join(tmpdir(), 'ringio-deny-'))
const deny = join(dir, 'deny-syscall')
beforeAll(async () => {
  await ensureBuilt()
  if (hasTool('gcc')) execFileSync('gcc', ['-O1', '-o', deny, join(HELPERS, 'deny-syscall.c')])
}, 180_000)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe.skipIf(!hasTool('gcc') || process.arch !== 'x64')('vmsplice refused by seccomp', () => {
  it('the filter works: vmsplice fails with EPERM inside it', () => {
    const koffi = JSON.stringify(join(ROOT, 'node_modules/koffi'))
    const probe = `const k = require(${koffi}); const f = k.load('libc.so.6').func('long vmsplice(int, void *, unsigned long, unsigned int)'); process.stdout.write(f(1, null, 0, 0) + ' ' + k.errno())`
    const out = execFileSync(deny, [String(SYS_VMSPLICE), String(EPERM), process.execPath, '-e', probe], { encoding: 'utf8' })
    expect(out).toBe(`-1 ${EPERM}`)
  })

  it.skipIf(!thpPossible())('4 MiB into a pipe arrive whole and in order: the writer falls back to writev', async () => {
    const p = makePipe()
    const n = 4 << 20
    const child = spawn(deny, [String(SYS_VMSPLICE), String(EPERM), process.execPath, join(FIXTURES, 'write-pattern.mjs'), String(n)], {
      stdio: ['ignore', p.w, 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    })
    // Only the child holds the write end now: if it fails, the read ends at EOF instead of waiting.
    closeSync(p.w)
    try {
      const done = exited(child)
      const got = await p.readN(n, 65536, 0)
      const { code, stderr } = await done
      expect(stderr).toContain('"flushed"')
      expect(code).toBe(0)
      expect(got.length).toBe(n)
      expect(sha256(got)).toBe(sha256(pattern(n)))
    } finally {
      closeSync(p.r)
    }
  })
})
