// stdin and stdout of every kind, in real child processes on the built
// package: regular file, /dev/null, socket (Node's 'pipe' stdio is a
// socketpair), a pipe whose reader left (EPIPE) and a closed fd (a clear
// IoError, no crash).
import { spawn } from 'node:child_process'
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt, FIXTURES } from './helpers/build.js'
import { makePipe } from './helpers/fifo.js'
import { events, exited, node } from './helpers/processes.js'
import { pattern } from './fixtures/pattern.mjs'

beforeAll(ensureBuilt, 180_000)
const dir = mkdtempSync(join(tmpdir(), 'ringio-tty-kinds-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const N = 3 * (1 << 20) + 12345

describe('stdout()', () => {
  it('writes a regular file at the shared position (after what the shell wrote)', async () => {
    const file = join(dir, 'out.bin')
    writeFileSync(file, 'header\n')
    const fd = openSync(file, 'a')
    const { code, stderr } = await exited(node('write-pattern.mjs', [String(N)], ['ignore', fd, 'pipe']))
    closeSync(fd)
    expect(code, stderr).toBe(0)
    expect(readFileSync(file).equals(Buffer.concat([Buffer.from('header\n'), pattern(N)]))).toBe(true)
  })

  it('writes /dev/null', async () => {
    const { code, stderr } = await exited(node('write-pattern.mjs', [String(N)], ['ignore', 'ignore', 'pipe']))
    expect(code).toBe(0)
    expect(events(stderr)).toEqual([{ type: 'flushed', bytes: N }])
  })

  it('writes a socket (send, MSG_NOSIGNAL)', async () => {
    const child = node('write-pattern.mjs', [String(N)], ['ignore', 'pipe', 'pipe'])
    const chunks: Buffer[] = []
    child.stdout!.on('data', (d: Buffer) => chunks.push(d))
    const { code } = await exited(child)
    expect(code).toBe(0)
    expect(Buffer.concat(chunks).equals(pattern(N))).toBe(true)
  })

  it('rejects with IoError EPIPE when the reader went away, and the process carries on', async () => {
    const p = makePipe()
    const child = node('write-pattern.mjs', [String(N)], ['ignore', p.w, 'pipe'])
    closeSync(p.r) // no reader left once the child holds the only write end
    closeSync(p.w)
    const { code, stderr } = await exited(child)
    expect(events(stderr)).toEqual([expect.objectContaining({ type: 'error', code: 'EPIPE', op: 'write' })])
    expect(code).toBe(3) // the fixture's own exit code for a reported error: no crash
  })

  it.each([
    ['fd 1 closed after start', ['100', '1', 'close-first']],
    ['an fd that was never open', ['100', '99']],
  ])('rejects with IoError EBADF for %s', async (_name, args) => {
    const { code, stderr } = await exited(node('write-pattern.mjs', args, ['ignore', 'pipe', 'pipe']))
    expect(events(stderr)).toEqual([expect.objectContaining({ type: 'error', code: 'EBADF', op: 'write' })])
    expect(code).toBe(3)
  })
})

describe('stdin()', () => {
  const typesOf = (stderr: string): unknown[] => events(stderr).filter((e) => e.type !== 'ready')

  it('reads a regular file to its end', async () => {
    const file = join(dir, 'in.txt')
    writeFileSync(file, 'line 1\nline 2\n')
    const fd = openSync(file, 'r')
    const { code, stderr } = await exited(node('stdin-events.mjs', [], [fd, 'ignore', 'pipe']))
    closeSync(fd)
    expect(code).toBe(0)
    expect(typesOf(stderr)).toEqual([{ type: 'data', data: 'line 1\nline 2\n' }, { type: 'end' }, { type: 'complete' }])
  })

  it('reads /dev/null: end at once', async () => {
    const { code, stderr } = await exited(node('stdin-events.mjs', [], ['ignore', 'ignore', 'pipe']))
    expect(code).toBe(0)
    expect(typesOf(stderr)).toEqual([{ type: 'end' }, { type: 'complete' }])
  })

  it('reads a socket to its end', async () => {
    const child = node('stdin-events.mjs', [], ['pipe', 'ignore', 'pipe'])
    child.stdin!.end('over a socket\n')
    const { code, stderr } = await exited(child)
    expect(code).toBe(0)
    expect(typesOf(stderr)).toEqual([{ type: 'data', data: 'over a socket\n' }, { type: 'end' }, { type: 'complete' }])
  })

  it('errors with IoError EBADF for a closed fd', async () => {
    const script = `
      import { nop } from '@ringio/core/transport'
      import { stdin, input } from '@ringio/tty'
      import { closeSync } from 'node:fs'
      import { log } from ${JSON.stringify(join(FIXTURES, 'log.mjs'))}
      await nop()
      closeSync(0)
      const report = (name) => ({ error: (e) => log({ type: name, code: e.code, op: e.op }), complete: () => log({ type: 'complete' }) })
      stdin().subscribe(report('stdin'))
      input(99, { shared: true }).subscribe(report('fd99'))`
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'ignore', 'pipe'], cwd: FIXTURES })
    const { code, stderr } = await exited(child)
    expect(code).toBe(0)
    expect(events(stderr)).toEqual([
      { type: 'stdin', code: 'EBADF', op: 'fstat' },
      { type: 'fd99', code: 'EBADF', op: 'fstat' },
    ])
  })
})
