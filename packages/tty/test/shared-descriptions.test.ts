// THE RULE, checked from outside: a child using @ringio/tty on a pipe or
// terminal it shares with its parent never makes that open file description
// O_NONBLOCK — not for a moment — while the bytes arrive complete and in
// order through a slow peer; and afterwards a sibling process still uses the
// description in blocking mode without EAGAIN. A separate python3 process
// samples /proc/<pid>/fdinfo/<fd> `flags:` every ~0.2 ms, for the child's fd
// and for this process's own fd of the same description (which exists before
// the child starts: no start-up blind spot).
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt, HELPERS } from './helpers/build.js'
import { makePipe, type Pipe } from './helpers/fifo.js'
import { fdFlags } from './helpers/stdio-flags.js'
import { events, exited, node, nodeArgv, runPty, waitForLine, watchFlags } from './helpers/processes.js'
import { pattern } from './fixtures/pattern.mjs'

const MiB = 1 << 20
const BIG = 8 * MiB
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
const pat = pattern

beforeAll(ensureBuilt, 180_000)

let pipe: Pipe | undefined
afterEach(() => {
  pipe?.close()
  pipe = undefined
})

/** Runs python3 sibling.py with the given stdio; resolves with its exit code and stderr. */
function sibling(mode: 'read' | 'write', n: number, stdio: [number | 'ignore', number | 'ignore']) {
  const child = spawn('python3', [join(HELPERS, 'sibling.py'), mode, String(n)], { stdio: [stdio[0], stdio[1], 'pipe'] })
  return exited(child)
}

describe('stdout into a pipe shared with the parent', () => {
  it('8 MiB through a slow reader: never O_NONBLOCK, complete and in order; a sibling then writes blocking', async () => {
    const p = (pipe = makePipe())
    const watch = await watchFlags([`${process.pid}:${p.w}`])
    const child = node('write-pattern.mjs', [String(BIG)], ['ignore', p.w, 'pipe'])
    watch.add(`${child.pid}:1`)
    const done = exited(child)
    const got = await p.readN(BIG, 16 * 1024, 1) // ~512 reads, a millisecond apart: the child waits on a full pipe
    const { code, stderr } = await done
    const verdict = await watch.stop()
    expect(stderr).toContain('"flushed"')
    expect(code).toBe(0)
    expect(got.length).toBe(BIG)
    expect(sha256(got)).toBe(sha256(pat(BIG)))
    expect(verdict.nonblock_seen).toEqual({ [`${process.pid}:${p.w}`]: false, [`${child.pid}:1`]: false })
    expect(verdict.seen[`${child.pid}:1`]).toBeGreaterThan(50) // it was watched while it wrote

    // A sibling on the same description: blocking writes, no EAGAIN, through a slow reader again.
    const sib = sibling('write', MiB, ['ignore', p.w])
    const more = await p.readN(MiB, 16 * 1024, 1)
    const s = await sib
    expect(s.stderr).toContain('sibling write')
    expect(s.code).toBe(0)
    expect(more.length).toBe(MiB)
  })

  it('control: Node’s process.stdout does flip it (the watcher can see it)', async () => {
    const p = (pipe = makePipe())
    const watch = await watchFlags([`${process.pid}:${p.w}`])
    const child = node('control-process-stdout.mjs', [String(MiB)], ['ignore', p.w, 'pipe'])
    const done = exited(child)
    await p.readN(MiB, 16 * 1024, 1)
    await done
    const verdict = await watch.stop()
    expect(verdict.nonblock_seen[`${process.pid}:${p.w}`]).toBe(true)
  })
})

describe('stdin from a pipe shared with the parent', () => {
  it('8 MiB from a slow writer: never O_NONBLOCK, complete and in order; a sibling then reads blocking', async () => {
    const p = (pipe = makePipe())
    const watch = await watchFlags([`${process.pid}:${p.r}`])
    const child = node('read-hash.mjs', [String(BIG)], [p.r, 'ignore', 'pipe'])
    watch.add(`${child.pid}:0`)
    const done = exited(child)
    await waitForLine(child, 'ready')
    const data = pat(BIG)
    await p.writeAll(data, 64 * 1024, 2) // ~128 writes, 2 ms apart: the child waits on an empty pipe
    const { code, stderr } = await done
    const verdict = await watch.stop()
    expect(code).toBe(0)
    expect(events(stderr).at(-1)).toEqual({ type: 'done', bytes: BIG, sha256: sha256(data) })
    expect(verdict.nonblock_seen).toEqual({ [`${process.pid}:${p.r}`]: false, [`${child.pid}:0`]: false })
    expect(verdict.seen[`${child.pid}:0`]).toBeGreaterThan(50)

    // The child unsubscribed and exited while reading; a sibling now reads the same description, blocking.
    const sib = sibling('read', MiB, [p.r, 'ignore'])
    await p.writeAll(pat(MiB), 64 * 1024, 1)
    const s = await sib
    expect(s.stderr).toContain('sibling read')
    expect(s.code).toBe(0)
  })

  it('after unsubscribing, an idle pipe does not keep the process alive (exits within 2 s)', async () => {
    const p = (pipe = makePipe())
    const t0 = Date.now()
    const child = node('unsubscribe-exit.mjs', ['200'], [p.r, 'ignore', 'pipe'])
    const { code, stderr } = await exited(child)
    expect(code).toBe(0)
    expect(Date.now() - t0).toBeLessThan(2000)
    expect(events(stderr).map((e) => e.type)).toEqual(['ready', 'unsubscribed', 'exit'])
  })
})

describe('a pipe someone else made non-blocking', () => {
  // The child starts with the shared description already O_NONBLOCK (set by
  // with-nonblock.py just before it execs node): ringio must neither clear the
  // flag (not ours) nor let an EAGAIN through.
  const isNonBlocking = (fd: number): boolean => (fdFlags(fd) & 0o4000) !== 0
  const nonBlockingChild = (fd: 0 | 1, args: string[], stdio: [number | 'ignore', number | 'ignore', 'pipe']) =>
    spawn('python3', [join(HELPERS, 'with-nonblock.py'), String(fd), ...nodeArgv(args[0]!, args.slice(1))], { stdio })

  it('stdout: no EAGAIN reaches the writer, the bytes arrive whole, and the flag is left as it was', async () => {
    const p = (pipe = makePipe())
    const child = nonBlockingChild(1, ['write-pattern.mjs', String(2 * MiB)], ['ignore', p.w, 'pipe'])
    const done = exited(child)
    const head = await p.readN(64 * 1024, 16 * 1024, 1) // bytes flowing: the program runs
    expect(isNonBlocking(p.w)).toBe(true)
    const got = Buffer.concat([head, await p.readN(2 * MiB - head.length, 16 * 1024, 1)])
    const { code, stderr } = await done
    expect(stderr).toContain('"flushed"')
    expect(code).toBe(0)
    expect(sha256(got)).toBe(sha256(pat(2 * MiB)))
    expect(isNonBlocking(p.w)).toBe(true)
  })

  it('stdin: no EAGAIN reaches the reader, and the flag is left as it was', async () => {
    const p = (pipe = makePipe())
    const child = nonBlockingChild(0, ['read-hash.mjs', String(2 * MiB)], [p.r, 'ignore', 'pipe'])
    const done = exited(child)
    await waitForLine(child, 'ready')
    expect(isNonBlocking(p.r)).toBe(true)
    const data = pat(2 * MiB)
    await p.writeAll(data, 64 * 1024, 2)
    const { code, stderr } = await done
    expect(code).toBe(0)
    expect(events(stderr).at(-1)).toEqual({ type: 'done', bytes: 2 * MiB, sha256: sha256(data) })
    expect(isNonBlocking(p.r)).toBe(true)
  })
})

describe('a terminal shared with the parent', () => {
  it('stdout: 8 MiB through a slow terminal reader, never O_NONBLOCK, byte-exact', async () => {
    const r = await runPty({
      argv: nodeArgv('write-pattern.mjs', [String(BIG)]),
      raw: true, // no output processing: the bytes arrive exactly as written
      stderr: 'null',
      read_delay: 0.0005,
      watch: [1],
      timeout: 20,
    })
    expect(r.error).toBeNull()
    expect(r.rc).toBe(0)
    expect(r.bytes.length).toBe(BIG)
    expect(sha256(r.bytes)).toBe(sha256(pat(BIG)))
    expect(r.nonblock_seen).toEqual({ 1: false, shared: false })
    expect(r.samples).toBeGreaterThan(50)
  })

  it('stdin: 1 MiB typed into a raw terminal, never O_NONBLOCK, byte-exact', async () => {
    const data = pat(MiB)
    const dir = mkdtempSync(join(tmpdir(), 'ringio-tty-in-'))
    writeFileSync(join(dir, 'in'), data)
    const r = await runPty({
      argv: nodeArgv('read-hash.mjs', [String(MiB)]),
      raw: true, // no line discipline processing: every byte arrives as typed
      watch: [0],
      steps: [{ wait_for: 'ready' }, { write_file: join(dir, 'in') }, { wait_for: '"done"' }],
      timeout: 20,
    }).finally(() => rmSync(dir, { recursive: true, force: true }))
    expect(r.error).toBeNull()
    expect(r.rc).toBe(0)
    expect(events(r.output).at(-1)).toEqual({ type: 'done', bytes: MiB, sha256: sha256(data) })
    expect(r.nonblock_seen).toEqual({ 0: false, shared: false })
  })
})
