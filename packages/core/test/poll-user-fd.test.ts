/**
 * `poll(fd)` on descriptors ringio does not own: the description's file
 * status flags stay exactly as the user made them (blocking) before, during
 * and after a watch — read from /proc, from inside and from outside the
 * process — no descriptor is left behind, and the Observable behaves the same
 * on both backends: ready at once if ready, then once per new readiness
 * (io_uring's multishot POLL_ADD), several watchers per fd, unsubscribe ends it.
 */
import { spawn } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { sleep, until, within } from '../../../test/helpers/waiting.js'
import { backend, getProactor, poll, PollEvents, read } from '../src/transport.js'
import * as sys from '../src/poll/sys.js'
import { BACKEND, pipe2, socketpair } from './helpers/fds.js'

const AF_UNIX = 1
const SOCK_STREAM = 1
const { IN, OUT, HUP } = PollEvents

/**
 * The file status flags of `pid`'s `fd` as /proc shows them: read from outside
 * the fd, no F_GETFL. O_CLOEXEC, which /proc folds in, belongs to the fd, not to the description.
 */
function flagsOf(fd: number, pid: number | 'self' = 'self'): number {
  return parseInt(/flags:\s*(\d+)/.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))![1]!, 8) & ~sys.O_CLOEXEC
}

/** How many of `pid`'s fds refer to the same object as its `fd` (both ends of a pipe do; a dup or a leak adds one). */
function refsTo(fd: number, pid: number | 'self' = 'self'): number {
  const target = readlinkSync(`/proc/${pid}/fd/${fd}`)
  let n = 0
  for (const name of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${name}`) === target) n++
    } catch {
      // readdir's own fd, gone by now
    }
  }
  return n
}

const fdCount = (): number => readdirSync('/proc/self/fd').length

const open: number[] = []
afterEach(() => {
  for (const fd of open.splice(0)) sys.close(fd)
})

/** A pipe with blocking descriptions (as a shell hands one over). */
function blockingPipe(): [number, number] {
  const b = Buffer.alloc(8)
  expect(pipe2(b, sys.O_CLOEXEC)).toBe(0)
  const pair: [number, number] = [b.readInt32LE(0), b.readInt32LE(4)]
  open.push(...pair)
  return pair
}

/** A Unix stream socketpair with blocking descriptions. */
function blockingSocketPair(): [number, number] {
  const b = Buffer.alloc(8)
  expect(socketpair(AF_UNIX, SOCK_STREAM | sys.SOCK_CLOEXEC, 0, b)).toBe(0)
  const pair: [number, number] = [b.readInt32LE(0), b.readInt32LE(4)]
  open.push(...pair)
  return pair
}

function put(fd: number, s: string): void {
  expect(sys.write(fd, Buffer.from(s), s.length)).toBe(s.length)
}

function take(fd: number): string {
  const b = Buffer.alloc(256)
  const n = sys.read(fd, b, b.length)
  expect(n).toBeGreaterThanOrEqual(0)
  return b.toString('latin1', 0, n)
}

/** Subscribes and records; an error fails the test through `errors`. */
function watch(fd: number, events: number): { seen: number[]; errors: unknown[]; unsubscribe(): void } {
  const seen: number[] = []
  const errors: unknown[] = []
  const sub = poll(fd, events).subscribe({ next: (ev) => seen.push(ev), error: (e: unknown) => errors.push(e) })
  return { seen, errors, unsubscribe: () => sub.unsubscribe() }
}

/** Lets several loop turns pass (timers, immediates and completions alike). */
const turns = (): Promise<void> => sleep(30)

/** Waits until the proactor holds no more operations than `n` (a cancelled poll has left it). */
const settled = (n: number): Promise<void> => until(() => getProactor().pending <= n, 2000, 'the poll to leave the proactor')

describe(`poll() on fds ringio does not own (${BACKEND})`, () => {
  beforeAll(async () => {
    expect(backend()).toBe(BACKEND)
    // Warm up: the ring, or the poll backend's private epoll set, is created once and kept.
    const [r, w] = blockingPipe()
    const x = watch(r, IN)
    put(w, 'w')
    await until(() => x.seen.length > 0, 2000, 'warm-up event')
    x.unsubscribe()
    await settled(0)
    for (const fd of open.splice(0)) sys.close(fd)
  })

  for (const [kind, make] of [
    ['pipe', blockingPipe],
    ['socketpair', blockingSocketPair],
  ] as const) {
    it(`${kind}: the event arrives and the flags never change (before, during, after); nothing is left open`, async () => {
      const fds = fdCount()
      const pending = getProactor().pending
      const [r, w] = make()
      const before = [flagsOf(r), flagsOf(w)]
      const refs = refsTo(r)
      expect(before[0]! & sys.O_NONBLOCK).toBe(0)
      expect(before[1]! & sys.O_NONBLOCK).toBe(0)

      const x = watch(r, IN)
      expect([flagsOf(r), flagsOf(w)]).toEqual(before)
      await turns()
      expect(x.seen).toEqual([])
      put(w, 'x')
      await until(() => x.seen.length > 0, 2000, 'POLLIN')
      expect(x.seen[0]! & IN).toBe(IN)
      expect([flagsOf(r), flagsOf(w)]).toEqual(before)

      x.unsubscribe()
      await settled(pending)
      const n = x.seen.length
      put(w, 'y')
      await turns()
      expect(x.seen.length).toBe(n) // unsubscribed: nothing more
      expect(x.errors).toEqual([])
      expect([flagsOf(r), flagsOf(w)]).toEqual(before)
      expect(take(r)).toBe('xy') // the watch consumed nothing
      expect(refsTo(r)).toBe(refs)
      for (const fd of open.splice(0)) sys.close(fd)
      expect(fdCount()).toBe(fds)
    })
  }

  it('multishot: ready at once when ready, then once per new readiness (unread data does not fire again)', async () => {
    const [r, w] = blockingSocketPair()
    const flags = flagsOf(r)
    const x = watch(r, IN)
    put(w, 'a')
    await until(() => x.seen.length > 0, 2000, 'first POLLIN')
    await turns()
    expect(x.seen).toEqual([IN]) // 'a' is still unread: no second event
    put(w, 'b')
    await until(() => x.seen.length > 1, 2000, 'second POLLIN')
    await turns()
    expect(x.seen).toEqual([IN, IN])
    expect(take(r)).toBe('ab')
    await turns()
    expect(x.seen.length).toBe(2)
    put(w, 'c')
    await until(() => x.seen.length > 2, 2000, 'third POLLIN')

    // A second watcher of an fd that is ready now gets an event at once; the first one gets none from that.
    const y = watch(r, IN)
    await until(() => y.seen.length > 0, 2000, 'the second watcher')
    await turns()
    expect(y.seen).toEqual([IN])
    expect(x.seen.length).toBe(3)
    x.unsubscribe()
    y.unsubscribe()
    expect(x.errors).toEqual([])
    expect(y.errors).toEqual([])
    expect(flagsOf(r)).toBe(flags)
    expect(take(r)).toBe('c')
  })

  it('two watchers of one fd both see each event; unsubscribing one leaves the other working', async () => {
    const fds = fdCount()
    const pending = getProactor().pending
    const [r, w] = blockingPipe()
    const flags = flagsOf(r)
    const refs = refsTo(r)
    const x = watch(r, IN)
    const y = watch(r, IN | OUT) // OUT never holds on a read end: the mask says what is ready
    put(w, '1')
    await until(() => x.seen.length > 0 && y.seen.length > 0, 2000, 'both watchers')
    expect(x.seen).toEqual([IN])
    expect(y.seen).toEqual([IN])
    expect(flagsOf(r)).toBe(flags)
    x.unsubscribe()
    put(w, '2')
    await until(() => y.seen.length > 1, 2000, 'the remaining watcher')
    await turns()
    expect(x.seen).toEqual([IN])
    expect(y.seen).toEqual([IN, IN])
    y.unsubscribe()
    await settled(pending)
    expect(x.errors).toEqual([])
    expect(y.errors).toEqual([])
    expect(flagsOf(r)).toBe(flags)
    expect(take(r)).toBe('12')
    expect(refsTo(r)).toBe(refs)
    for (const fd of open.splice(0)) sys.close(fd)
    expect(fdCount()).toBe(fds)
  })

  for (const first of ['read', 'watch'] as const) {
    it(`a read pending on the same blocking fd as a watch (${first} first): both complete, flags unchanged`, async () => {
      const fds = fdCount()
      const pending = getProactor().pending
      const [r, w] = blockingPipe()
      const flags = flagsOf(r)
      const refs = refsTo(r)
      const buf = Buffer.alloc(16)
      let got: Promise<number> | undefined
      if (first === 'read') got = read(r, buf)
      const x = watch(r, IN)
      if (first === 'watch') got = read(r, buf)
      await turns()
      expect(x.seen).toEqual([])
      put(w, 'data')
      expect(await within(got!, 2000, 'the read')).toBe(4)
      expect(buf.toString('latin1', 0, 4)).toBe('data')
      await until(() => x.seen.length > 0, 2000, 'the watch')
      expect(x.seen[0]).toBe(IN)
      expect(flagsOf(r)).toBe(flags)
      x.unsubscribe()
      await settled(pending)
      expect(x.errors).toEqual([])
      expect(flagsOf(r)).toBe(flags)
      expect(refsTo(r)).toBe(refs)
      for (const fd of open.splice(0)) sys.close(fd)
      expect(fdCount()).toBe(fds)
    })
  }

  it('reports the events asked for: POLLOUT on a write end, POLLHUP when the writer goes', async () => {
    const [r, w] = blockingPipe()
    const flags = [flagsOf(r), flagsOf(w)]
    const out = watch(w, OUT)
    await until(() => out.seen.length > 0, 2000, 'POLLOUT')
    expect(out.seen[0]).toBe(OUT)
    out.unsubscribe()

    const x = watch(r, IN)
    await turns()
    expect(x.seen).toEqual([])
    expect([flagsOf(r), flagsOf(w)]).toEqual(flags)
    sys.close(open.splice(open.indexOf(w), 1)[0]!)
    await until(() => x.seen.length > 0, 2000, 'POLLHUP')
    expect(x.seen[0]! & HUP).toBe(HUP) // reported whatever was asked, as poll(2) does
    expect(x.errors).toEqual([]) // a hang-up is an event, not an error
    x.unsubscribe()
    expect(flagsOf(r)).toBe(flags[0])
  })

  it('a regular file (epoll refuses it) is ready at once, not an error; unsubscribe stops it', async () => {
    const dir = mkdtempSync('/var/tmp/ringio-poll-user-')
    const fds = fdCount()
    const pending = getProactor().pending
    try {
      const path = join(dir, 'f.txt')
      writeFileSync(path, 'data')
      const fd = openSync(path, 'r')
      const flags = flagsOf(fd)
      const x = watch(fd, IN)
      await until(() => x.seen.length > 0, 2000, 'a regular file to be ready')
      expect(x.seen[0]).toBe(IN)
      expect(x.errors).toEqual([])
      x.unsubscribe()
      await settled(pending)
      const n = x.seen.length
      await turns()
      expect(x.seen.length).toBe(n)
      expect(flagsOf(fd)).toBe(flags)
      expect(refsTo(fd)).toBe(1)
      closeSync(fd)
      expect(fdCount()).toBe(fds)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

// ---- from outside the process: a child polls its own stdin (a pipe) ----

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

/**
 * The child, bundled from the current sources with esbuild (tsup's own
 * bundler) and run with plain node: no loader that might touch its stdio.
 * Its stdin is touched by nothing but ringio's poll and, at the very end, a
 * blocking readSync (which changes no flag).
 */
const CHILD = `
import { readdirSync, readFileSync, readSync, writeSync } from 'node:fs'
import { backend, poll, PollEvents } from '../src/transport.js'

const flags = () => parseInt(/flags:\\s*(\\d+)/.exec(readFileSync('/proc/self/fdinfo/0', 'utf8'))[1], 8) & ~0o2000000 // O_CLOEXEC: the fd's
const say = (type, extra = {}) => writeSync(1, 'EV ' + JSON.stringify({ type, ...extra }) + '\\n')
const start = flags()
let n = 0
const sub = poll(0, PollEvents.IN).subscribe({
  next(ev) {
    say('event', { ev, n: ++n, flags: flags() })
    if (n < 2) return
    sub.unsubscribe()
    setTimeout(() => {
      say('unsubscribed', { flags: flags() })
      const buf = Buffer.alloc(64)
      let got = ''
      for (let k; (k = readSync(0, buf, 0, 64, null)) > 0; ) got += buf.toString('latin1', 0, k)
      say('eof', { got, flags: flags() })
      process.exit(0)
    }, 20)
  },
  error(e) {
    say('error', { message: String(e) })
    process.exit(1)
  },
})
say('watching', { backend: backend(), start, flags: flags() })
`

describe(`poll(0) in a child whose stdin is a pipe (${BACKEND})`, () => {
  let dir = ''
  let script = ''
  beforeAll(async () => {
    dir = mkdtempSync('/var/tmp/ringio-poll-child-')
    script = join(dir, 'child.cjs')
    const esbuild = await import('esbuild')
    const out = await esbuild.build({
      stdin: { contents: CHILD, resolveDir: join(ROOT, 'packages/core/test'), loader: 'ts', sourcefile: 'child.ts' },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      packages: 'external', // koffi, rxjs: resolved from the workspace through NODE_PATH
      write: false,
      logLevel: 'silent',
    })
    writeFileSync(script, out.outputFiles[0]!.text)
  })
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('never changes the flags of the shared description, seen from the parent in /proc/<pid>/fdinfo/0', async () => {
    const [r, w] = blockingPipe()
    const pipeFlags = flagsOf(r)
    const child = spawn(process.execPath, [script], {
      stdio: [r, 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '', RINGIO_BACKEND: BACKEND, NODE_PATH: join(ROOT, 'node_modules') },
    })
    sys.close(open.splice(open.indexOf(r), 1)[0]!) // the child has its own copy now
    let stderr = ''
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const exit = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
    const next = async (type: string): Promise<Record<string, unknown>> => {
      const l = await within(lines.next(), 10_000, `the child's '${type}' (stderr: ${stderr})`)
      expect(l.done, `child ended before '${type}': ${stderr}`).toBeFalsy()
      const ev = JSON.parse(String(l.value).slice(3)) as Record<string, unknown>
      expect(ev, stderr).toMatchObject({ type })
      return ev
    }
    try {
      const pid = child.pid!
      const watching = await next('watching')
      expect(watching).toMatchObject({ backend: BACKEND, start: pipeFlags, flags: pipeFlags })
      expect(pipeFlags & sys.O_NONBLOCK).toBe(0)
      expect(flagsOf(0, pid)).toBe(pipeFlags) // watching, seen from outside

      put(w, 'x')
      expect(await next('event')).toMatchObject({ n: 1, flags: pipeFlags })
      expect(flagsOf(0, pid)).toBe(pipeFlags) // still watching, 'x' unread
      put(w, 'y')
      expect(await next('event')).toMatchObject({ n: 2, flags: pipeFlags })
      expect(await next('unsubscribed')).toMatchObject({ flags: pipeFlags })
      expect(flagsOf(0, pid)).toBe(pipeFlags)
      expect(refsTo(0, pid)).toBe(1) // no duplicate of its stdin left open in the child

      sys.close(open.splice(open.indexOf(w), 1)[0]!)
      expect(await next('eof')).toMatchObject({ got: 'xy', flags: pipeFlags })
      expect(await within(exit, 10_000, 'the child to exit')).toBe(0)
    } finally {
      child.kill('SIGKILL')
    }
  })
})
