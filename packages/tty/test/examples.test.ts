// The built examples, run with plain node: examples/dist/cat.js and
// examples/dist/safe-prompt.js, in shell pipelines and on a real terminal.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt, EXAMPLES } from './helpers/build.js'
import { exited, runPty, type PtyResult } from './helpers/processes.js'

beforeAll(ensureBuilt, 180_000)
const dir = mkdtempSync(join(tmpdir(), 'ringio-tty-examples-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const CAT = join(EXAMPLES, 'cat.js')
const PROMPT = join(EXAMPLES, 'safe-prompt.js')
const q = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`
const sh = (script: string) =>
  exited(spawn('sh', ['-c', script], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } }))

function checkTerminal(r: PtyResult): void {
  expect(r.error, `terminal showed: ${JSON.stringify(r.output)}`).toBeNull()
  expect(r.termios['after']).toEqual(r.termios['before'])
  expect(r.nonblock_seen['shared']).toBe(false)
}

describe('examples/cat', () => {
  it('copies 5 MiB of random bytes byte-exact through a shell pipeline of two cats', async () => {
    const input = randomBytes(5 << 20)
    writeFileSync(join(dir, 'in'), input)
    const out = join(dir, 'out')
    const { code, stderr } = await sh(`node ${q(CAT)} < ${q(join(dir, 'in'))} | node ${q(CAT)} --eof-markers | cat > ${q(out)}`)
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(readFileSync(out).equals(input)).toBe(true)
  })

  it('exits 141 quietly when the reader leaves early (| head), as cat does', async () => {
    writeFileSync(join(dir, 'big'), randomBytes(4 << 20))
    const status = join(dir, 'status')
    const { code, stderr } = await sh(`{ node ${q(CAT)} < ${q(join(dir, 'big'))}; echo $? > ${q(status)}; } | head -c 10 > /dev/null`)
    expect(code).toBe(0)
    expect(stderr).toBe('')
    expect(readFileSync(status, 'utf8').trim()).toBe('141')
  })

  it('on a terminal: echoes a line, reports the EOF marker as ^D on stderr and exits 0', async () => {
    const r = await runPty({
      argv: [process.execPath, CAT],
      watch: [0, 1, 2],
      steps: [{ sleep: 0.3 }, { write: 'abc\n' }, { wait_for: 'abc\r\nabc\r\n' }, { write: '\u0004' }],
      timeout: 8,
    })
    checkTerminal(r)
    expect(r.rc).toBe(0)
    expect(r.output).toContain('^D\r\n')
    expect(r.nonblock_seen).toEqual({ 0: false, 1: false, 2: false, shared: false })
  })

  it('with --eof-markers keeps reading after ^D', async () => {
    const r = await runPty({
      argv: [process.execPath, CAT, '--eof-markers'],
      watch: [0, 1, 2],
      steps: [
        { sleep: 0.3 },
        { write: 'abc\n' },
        { wait_for: 'abc\r\nabc\r\n' },
        { write: '\u0004' },
        { wait_for: '^D' },
        { write: 'def\n' },
        { wait_for: 'def\r\ndef\r\n' },
        { signal: 'TERM' },
      ],
      timeout: 8,
    })
    checkTerminal(r)
    expect(r.signal).toBe('SIGTERM')
    expect(r.output).toMatch(/abc\r\nabc\r\n.*\^D\r\n.*def\r\ndef\r\n/s)
  })
})

describe('examples/safe-prompt', () => {
  const answers = (r: PtyResult): unknown[] =>
    r.output
      .split(/\r?\n/)
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as unknown)

  it('asks for a name (echoed) and a secret (not echoed), restores the terminal, prints both', async () => {
    const r = await runPty({
      argv: [process.execPath, PROMPT],
      watch: [0, 1, 2],
      steps: [{ wait_for: 'Name: ' }, { write: 'alice\n' }, { wait_for: '(not echoed): ' }, { termios: 'raw' }, { write: 's3cret\r' }],
      timeout: 8,
    })
    checkTerminal(r)
    expect(r.rc).toBe(0)
    expect(r.termios['raw']).not.toEqual(r.termios['before'])
    expect(answers(r)).toEqual([{ name: 'alice', secret: 's3cret' }])
    expect(r.output.split('s3cret').length - 1).toBe(1) // only in the JSON line: never echoed
  })

  it('Ctrl-C during the secret restores the terminal and exits 130', async () => {
    const r = await runPty({
      argv: [process.execPath, PROMPT],
      watch: [0, 1, 2],
      steps: [{ wait_for: 'Name: ' }, { write: 'bob\n' }, { wait_for: '(not echoed): ' }, { write: 'abc\u0003' }],
      timeout: 8,
    })
    checkTerminal(r)
    expect(r.rc).toBe(130)
    expect(answers(r)).toEqual([])
  })

  it('Ctrl-C at the name (line mode: SIGINT) exits 130', async () => {
    const r = await runPty({ argv: [process.execPath, PROMPT], watch: [0, 1, 2], steps: [{ wait_for: 'Name: ' }, { write: '\u0003' }], timeout: 8 })
    checkTerminal(r)
    expect(r.rc).toBe(130)
  })

  it('Ctrl-D on an empty answer cancels (exit 1)', async () => {
    const r = await runPty({ argv: [process.execPath, PROMPT], watch: [0, 1, 2], steps: [{ wait_for: 'Name: ' }, { write: '\u0004' }], timeout: 8 })
    checkTerminal(r)
    expect(r.rc).toBe(1)
    expect(r.output).toContain('cancelled')
  })

  it('works inside `producer | safe-prompt | consumer`: questions on the terminal, the answer down the pipe', async () => {
    const out = join(dir, 'answer.json')
    const r = await runPty({
      argv: ['sh', '-c', `echo from-the-pipe | ${q(process.execPath)} ${q(PROMPT)} | cat > ${q(out)}`],
      watch: [0, 1, 2],
      steps: [{ wait_for: 'Name: ' }, { write: 'carol\n' }, { wait_for: '(not echoed): ' }, { write: 'pw\r' }],
      timeout: 8,
    })
    checkTerminal(r)
    expect(r.rc).toBe(0)
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual({ name: 'carol', secret: 'pw' })
  })
})
