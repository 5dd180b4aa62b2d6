import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import v8 from 'node:v8'
import vm from 'node:vm'
import { Worker } from 'node:worker_threads'
import { build } from 'esbuild'
import koffi from 'koffi'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRawUvPoll, rawUvPollAvailable, rawUvPollLiveCount } from './raw-uv-poll.js'

const root = fileURLToPath(new URL('../../../../', import.meta.url))
const libc = koffi.load('libc.so.6')
const eventfd = libc.func('int eventfd(unsigned int initval, int flags)')
const pipe2 = libc.func('int pipe2(int *fds, int flags)')
const write = libc.func('long write(int fd, const void *buf, size_t n)')
const read = libc.func('long read(int fd, void *buf, size_t n)')
const closeFd = libc.func('int close(int fd)')

const bump = (fd: number): void => void write(fd, new BigUint64Array([1n]), 8)
const drain = (fd: number): void => void read(fd, new BigUint64Array(1), 8)
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await turn()
}
async function until(pred: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !pred(); i++) await turn()
  expect(pred()).toBe(true)
}

// Workers and child processes cannot import .ts: they load the module bundled by esbuild,
// from under the repo so that `koffi` resolves from its node_modules.
let dir = ''
let bundleUrl = ''
beforeAll(async () => {
  mkdirSync(join(root, 'scratch'), { recursive: true })
  dir = mkdtempSync(join(root, 'scratch', 'raw-uv-poll-'))
  const outfile = join(dir, 'raw-uv-poll.mjs')
  await build({
    entryPoints: [fileURLToPath(new URL('./raw-uv-poll.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    external: ['koffi'],
    outfile,
    logLevel: 'silent',
  })
  bundleUrl = pathToFileURL(outfile).href
})
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const prelude = (): string => `
import koffi from 'koffi'
import { createRawUvPoll } from ${JSON.stringify(bundleUrl)}
const libc = koffi.load('libc.so.6')
const eventfd = libc.func('int eventfd(unsigned int initval, int flags)')
const write = libc.func('long write(int fd, const void *buf, size_t n)')
const read = libc.func('long read(int fd, void *buf, size_t n)')
const bump = (fd) => write(fd, new BigUint64Array([1n]), 8)
const drain = (fd) => read(fd, new BigUint64Array(1), 8)
`

function script(name: string, body: string): string {
  const file = join(dir, name)
  writeFileSync(file, prelude() + body)
  return file
}

interface ChildResult {
  code: number | null
  signal: NodeJS.Signals | null
  out: string
  ms: number
}

function runNode(file: string, args: string[] = [], timeoutMs = 10_000): Promise<ChildResult> {
  const t0 = Date.now()
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file, ...args], { env: { ...process.env, NODE_OPTIONS: '' }, timeout: timeoutMs })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d))
    child.stderr.on('data', (d: Buffer) => (out += d))
    child.on('close', (code, signal) => resolve({ code, signal, out, ms: Date.now() - t0 }))
  })
}

describe('raw libuv poll route', () => {
  it('is available through koffi.load(null)', () => {
    expect(rawUvPollAvailable()).toBe(true)
  })

  it('fires readable (status 0) after a write, level-triggered; stop() silences it while data is unread', async () => {
    const fd = eventfd(0, 0)
    const seen: Array<[number, boolean, boolean]> = []
    const w = createRawUvPoll(fd, { readable: true }, (s, r, wr) => seen.push([s, r, wr]))
    try {
      await turns(5)
      expect(seen).toEqual([])
      bump(fd)
      await until(() => seen.length >= 3)
      expect(seen[0]).toEqual([0, true, false])
      w.stop()
      const n = seen.length
      await turns(10)
      expect(seen.length).toBe(n)
      w.start({ readable: true })
      await until(() => seen.length > n)
      drain(fd)
    } finally {
      w.close()
      closeFd(fd)
    }
  })

  it('start() replaces the event set: writable fires on a pipe write end', async () => {
    const fds = new Int32Array(2)
    expect(pipe2(fds, 0)).toBe(0)
    const [rfd, wfd] = [fds[0]!, fds[1]!]
    const seen: Array<[number, boolean, boolean]> = []
    const w = createRawUvPoll(wfd, { readable: true }, (s, r, wr) => seen.push([s, r, wr]))
    const reads: boolean[] = []
    const rw = createRawUvPoll(rfd, { readable: true }, (_s, r) => reads.push(r))
    try {
      await turns(5)
      expect(seen).toEqual([])
      w.start({ writable: true })
      await until(() => seen.length > 0)
      expect(seen[0]).toEqual([0, false, true])
      w.stop()
      expect(reads).toEqual([])
      write(wfd, Buffer.from('x'), 1)
      await until(() => reads.length > 0)
      expect(reads[0]).toBe(true)
    } finally {
      w.close()
      rw.close()
      closeFd(rfd)
      closeFd(wfd)
    }
  })

  it('close() ends callbacks, is idempotent, and the other methods become no-ops', async () => {
    const fd = eventfd(0, 0)
    bump(fd)
    let n = 0
    let selfClosed = 0
    const w = createRawUvPoll(fd, { readable: true }, () => n++)
    const fd2 = eventfd(0, 0)
    bump(fd2)
    const inner: { w?: ReturnType<typeof createRawUvPoll> } = {}
    inner.w = createRawUvPoll(fd2, { readable: true }, () => {
      selfClosed++
      inner.w!.close()
    })
    try {
      await until(() => n > 2 && selfClosed > 0)
      w.close()
      const seen = n
      await turns(10)
      expect(n).toBe(seen)
      expect(selfClosed).toBe(1)
      for (const x of [w, inner.w]) {
        x.close()
        x.stop()
        x.start({ readable: true })
        x.ref()
        x.unref()
      }
      await turns(5)
      expect(n).toBe(seen)
      expect(selfClosed).toBe(1)
    } finally {
      closeFd(fd)
      closeFd(fd2)
    }
  })

  it('refuses a bad fd and a second watch of one fd, leaving nothing behind', () => {
    const before = rawUvPollLiveCount()
    expect(() => createRawUvPoll(1_000_000, { readable: true }, () => {})).toThrow(/EBADF/)
    const fd = eventfd(0, 0)
    const w = createRawUvPoll(fd, { readable: true }, () => {})
    try {
      expect(() => createRawUvPoll(fd, { readable: true }, () => {})).toThrow(/EEXIST/)
      expect(rawUvPollLiveCount()).toBe(before + 1)
    } finally {
      w.close()
      closeFd(fd)
    }
    expect(rawUvPollLiveCount()).toBe(before)
  })

  it('survives 2000 create/close cycles and frees each handle after its close callback', async () => {
    const fd = eventfd(0, 0)
    bump(fd)
    const cycles = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        createRawUvPoll(fd, { readable: true }, () => {}).close()
        if (i % 100 === 99) await turns(2)
      }
    }
    try {
      await cycles(2000)
      await turns(5)
      expect(rawUvPollLiveCount()).toBe(0)
      // The close callback is native (free): check it ran through glibc's heap counter.
      // A leak shows as 5000 x ~176 bytes per round; with GC forced the noise is a few KiB.
      v8.setFlagsFromString('--expose-gc')
      const gc = vm.runInNewContext('gc') as () => void
      const info = koffi.struct({ arena: 'size_t', ordblks: 'size_t', smblks: 'size_t', hblks: 'size_t', hblkhd: 'size_t', usmblks: 'size_t', fsmblks: 'size_t', uordblks: 'size_t', fordblks: 'size_t', keepcost: 'size_t' })
      const mallinfo2 = libc.func('mallinfo2', info, [])
      const used = async (): Promise<number> => {
        await turns(3)
        gc()
        return Number((mallinfo2() as { uordblks: number | bigint }).uordblks)
      }
      // Other allocations in the process add noise now and then: a leak shows in every round.
      const deltas: number[] = []
      for (let round = 0; round < 3; round++) {
        const base = await used()
        await cycles(5000)
        deltas.push((await used()) - base)
      }
      expect(Math.min(...deltas)).toBeLessThan(5000 * 40)
    } finally {
      drain(fd)
      closeFd(fd)
    }
  })

  it('unref() lets a process exit; ref() (the default) keeps it alive', async () => {
    // Raw handles are invisible to process.getActiveResourcesInfo(): observe a real process.
    const file = script(
      'ref.mjs',
      `const w = createRawUvPoll(eventfd(0, 0), { readable: true }, () => {})
if (process.argv[2] !== 'ref') w.unref()
if (process.argv[2] === 'reref') w.ref()
`,
    )
    const [unref, ref, reref] = await Promise.all([runNode(file, ['unref']), runNode(file, ['ref'], 1500), runNode(file, ['reref'], 1500)])
    expect(unref.code).toBe(0)
    expect(unref.ms).toBeLessThan(1500)
    expect(ref.signal).toBe('SIGTERM')
    expect(reref.signal).toBe('SIGTERM')
  })

  it("reports a callback's exception to 'uncaughtException' and keeps watching", async () => {
    const file = script(
      'throw.mjs',
      `const fd = eventfd(0, 0)
let n = 0, errors = []
process.on('uncaughtException', (e) => errors.push(e.message))
const w = createRawUvPoll(fd, { readable: true }, () => {
  if (++n <= 2) throw new Error('boom' + n)
  drain(fd)
  w.close()
  setImmediate(() => console.log(JSON.stringify({ n, errors })))
})
bump(fd)
`,
    )
    const r = await runNode(file)
    expect(r.code).toBe(0)
    expect(JSON.parse(r.out)).toEqual({ n: 3, errors: ['boom1', 'boom2'] })
  })

  it('works inside a worker_threads Worker', async () => {
    const file = script(
      'worker.mjs',
      `import { parentPort } from 'node:worker_threads'
const fd = eventfd(0, 0)
const w = createRawUvPoll(fd, { readable: true }, (status, readable, writable) => {
  drain(fd)
  w.close()
  parentPort.postMessage({ status, readable, writable })
})
bump(fd)
`,
    )
    const worker = new Worker(file)
    const exit = new Promise((resolve) => worker.once('exit', resolve))
    const msg = new Promise((resolve) => {
      worker.once('message', resolve)
      setTimeout(() => resolve('no callback within 5 s'), 5000).unref()
    })
    const got = await msg
    if (typeof got === 'string') await worker.terminate()
    expect(got).toEqual({ status: 0, readable: true, writable: false })
    // Exits by itself: the closed handle no longer holds the Worker's loop.
    expect(await exit).toBe(0)
  })

  it('a Worker that ends with watchers still open (exit or terminate) does not abort the process', async () => {
    script(
      'open-worker.mjs',
      `import { parentPort, workerData } from 'node:worker_threads'
const ws = []
for (let i = 0; i < 20; i++) {
  const fd = eventfd(0, 0)
  if (i % 2) bump(fd) // unread: fires every turn
  ws.push(createRawUvPoll(fd, { readable: true }, () => {}))
}
setTimeout(() => {
  for (const w of ws.slice(0, 5)) w.close() // closes still pending at teardown
  if (workerData === 'exit') process.exit(0)
  parentPort.postMessage('ready')
  for (;;);
}, 20)
`,
    )
    const main = script(
      'open-main.mjs',
      `import { Worker } from 'node:worker_threads'
for (const mode of ['exit', 'terminate', 'exit', 'terminate']) {
  const w = new Worker(new URL('./open-worker.mjs', import.meta.url), { workerData: mode })
  w.on('message', () => w.terminate())
  await new Promise((resolve) => w.on('exit', resolve))
}
console.log('ok')
`,
    )
    const r = await runNode(main)
    expect(r.out.trim()).toBe('ok')
    expect(r.code).toBe(0)
  })
})
