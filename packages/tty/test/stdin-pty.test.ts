// stdin on a real pseudo-terminal, typed into by python3's pty driver:
// EOF markers, raw mode and its restore (checked from outside the child),
// exit with an idle terminal, window size. Every run also watches the
// child's fds 0-2 from outside: O_NONBLOCK must never appear.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt } from './helpers/build.js'
import { events, nodeArgv, runPty, type PtyResult } from './helpers/processes.js'

const ICANON = 0o2
const ECHO = 0o10
const LFLAG = 3

beforeAll(ensureBuilt, 180_000)

/**
 * Runs a fixture on a PTY, watching the child's fds 0-2 and the terminal's
 * shared description (through the driver's own fd) for O_NONBLOCK.
 * `nodeOwnsFd2`: Node itself prints an uncaught exception through
 * `process.stderr`, for which libuv dup2()s a *private* reopened terminal
 * description onto fd 2 and makes that one non-blocking — the shared one is
 * untouched (checked), but fd 2's flags are then not ours to judge.
 */
async function pty(argv: string[], steps: unknown[], extra: Record<string, unknown> = {}, nodeOwnsFd2 = false): Promise<PtyResult> {
  const r = await runPty({ argv, steps, watch: [0, 1, 2], timeout: 8, ...extra })
  expect(r.error, `terminal showed: ${JSON.stringify(r.output)}`).toBeNull()
  expect(r.samples).toBeGreaterThan(10)
  const seen = { ...r.nonblock_seen }
  if (nodeOwnsFd2) delete seen['2']
  expect(Object.values(seen).every((v) => !v), JSON.stringify(r.nonblock_seen)).toBe(true)
  expect(seen['shared']).toBe(false)
  return r
}

const typed = (r: PtyResult): unknown[] => events(r.output).filter((e) => e.type !== 'ready')

describe('stdin on a terminal', () => {
  it('abc⏎, Ctrl-D, def⏎ → data, eof, data; reading goes on after the marker', async () => {
    const r = await pty(nodeArgv('stdin-events.mjs'), [
      { wait_for: 'ready' },
      { write: 'abc\n' },
      { wait_for: '"data":"abc\\n"' },
      { write: '\u0004' },
      { wait_for: '"eof"' },
      { write: 'def\n' },
      { wait_for: '"data":"def\\n"' },
      { write: '\u0004' },
      { wait_for: '"eof"', count: 2 },
      { signal: 'TERM' },
    ])
    expect(typed(r)).toEqual([
      { type: 'data', data: 'abc\n' },
      { type: 'eof' },
      { type: 'data', data: 'def\n' },
      { type: 'eof' },
    ])
    expect(r.signal).toBe('SIGTERM')
  })

  it('with eofMarkers: false the stream ends at the first Ctrl-D and the process exits by itself', async () => {
    const r = await pty(nodeArgv('stdin-events.mjs', [JSON.stringify({ eofMarkers: false })]), [
      { wait_for: 'ready' },
      { write: 'abc\n' },
      { wait_for: '"data":"abc\\n"' },
      { write: '\u0004' },
    ])
    expect(typed(r)).toEqual([{ type: 'data', data: 'abc\n' }, { type: 'end' }, { type: 'complete' }])
    expect(r.rc).toBe(0)
  })

  it('a hung-up terminal is the real end, not an endless run of EOF markers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringio-tty-ev-'))
    try {
      const file = join(dir, 'ev') // the terminal is gone: events go to a file too
      const r = await runPty({
        argv: nodeArgv('stdin-events.mjs', ['{}', 'ignore-hup']),
        env: { EV_FILE: file },
        steps: [{ wait_for: 'ready' }, { write: 'abc\n' }, { wait_for: '"data":"abc\\n"' }, { close_master: true }],
        timeout: 8,
      })
      expect(r.error).toBeNull()
      const evs = events(readFileSync(file, 'utf8')).filter((e) => e.type !== 'ready' && e.type !== 'SIGHUP')
      expect(evs).toEqual([{ type: 'data', data: 'abc\n' }, { type: 'end' }, { type: 'complete' }])
      // The process then ends by itself. Node's own exit path restores the terminal
      // attributes it saved at start-up and aborts when that fails with EIO on a
      // hung-up terminal (plain `node -e` does the same): either outcome is an exit.
      expect(r.rc === 0 || r.signal === 'SIGABRT').toBe(true)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('after unsubscribing, an idle terminal does not keep the process alive (exits within 2 s)', async () => {
    const t0 = Date.now()
    const r = await pty(nodeArgv('unsubscribe-exit.mjs', ['200']), [], { timeout: 2 })
    expect(r.rc).toBe(0)
    expect(Date.now() - t0).toBeLessThan(2000 + 500) // python's own start-up on top
    expect(events(r.output).map((e) => e.type)).toEqual(['ready', 'unsubscribed', 'exit'])
  })

  it('unsubscribing after the first line lets the process exit at once', async () => {
    const r = await pty(nodeArgv('unsubscribe-exit.mjs'), [{ wait_for: 'ready' }, { write: 'one\n' }], { timeout: 3 })
    expect(r.rc).toBe(0)
    expect(events(r.output).map((e) => e.type)).toEqual(['ready', 'data', 'unsubscribed', 'exit'])
  })
})

describe('raw mode', () => {
  const isRaw = (t: number[] | string | undefined): boolean => Array.isArray(t) && (t[LFLAG]! & (ICANON | ECHO)) === 0

  it.each([
    ['SIGTERM', 'wait', 'TERM'],
    ['SIGINT', 'wait', 'INT'],
    ['SIGHUP', 'wait', 'HUP'],
    ['SIGTERM after setRawMode(true)', 'set', 'TERM'],
  ])('is restored after %s, seen from outside the child, which still dies by the signal', async (_name, mode, sig) => {
    const r = await pty(nodeArgv('raw-hold.mjs', [mode]), [{ wait_for: 'ready' }, { termios: 'during' }, { signal: sig }])
    expect(isRaw(r.termios['before'])).toBe(false)
    expect(isRaw(r.termios['during'])).toBe(true)
    expect(r.termios['after']).toEqual(r.termios['before'])
    expect(r.signal).toBe(`SIG${sig}`)
  })

  it.each([
    ['unsubscribe', 0],
    ['exit', 0],
    ['throw', 1],
  ])('is restored on %s', async (mode, rc) => {
    const r = await pty(nodeArgv('raw-hold.mjs', [mode]), [{ wait_for: 'ready' }, { termios: 'during' }], {}, mode === 'throw')
    expect(isRaw(r.termios['during'])).toBe(true)
    expect(r.termios['after']).toEqual(r.termios['before'])
    expect(r.rc).toBe(rc)
    if (mode === 'unsubscribe') expect(events(r.output).at(-1)).toEqual({ type: 'unsubscribed', raw: false })
  })

  it('delivers keys byte by byte with no echo, Ctrl-C as 0x03', async () => {
    const r = await pty(nodeArgv('raw-hold.mjs', ['wait']), [
      { wait_for: 'ready' },
      { write: 'x' },
      { wait_for: '"data":"x"' },
      { write: '\u0003' },
      { wait_for: '"data":"\\u0003"' },
      { signal: 'TERM' },
    ])
    expect(typed(r)).toEqual([
      { type: 'data', data: 'x' },
      { type: 'data', data: '\u0003' },
    ])
    expect(r.output).not.toMatch(/^x/m) // no echo
  })
})

describe('window size', () => {
  it('size() reads the terminal size and resize$ follows SIGWINCH', async () => {
    const r = await pty(nodeArgv('size.mjs'), [{ wait_for: 'ready' }, { resize: [40, 100] }], { winsize: [24, 80] })
    expect(events(r.output).filter((e) => e.type !== 'ready')).toEqual([
      { type: 'size', rows: 24, columns: 80, width: 0, height: 0 },
      { type: 'resize', rows: 40, columns: 100, width: 0, height: 0 },
    ])
    expect(r.rc).toBe(0)
  })
})
