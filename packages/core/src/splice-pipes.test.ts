/**
 * splicePipes(): a whole pipe-to-pipe copy in the kernel, between real child
 * processes (a producer writing into the input pipe, a consumer reading the
 * output pipe), on both backends.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bytes, pipe2 } from '../test/helpers/fds.js'
import * as sys from './poll/sys.js'
import { EPIPE, IoError, nop, run, splicePipes } from './transport.js'

const dir = mkdtempSync(join(tmpdir(), 'ringio-splice-pipes-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const fdCount = (): number => readdirSync('/proc/self/fd').length
// The proactor's own fds (and the poll backend's private epoll set, made at its first watch) exist before the first count.
beforeAll(async () => {
  await nop()
  const [r, w] = pipe()
  writeFileSync(`/proc/self/fd/${w}`, 'x')
  await run({ kind: 'poll', fd: r, events: 1, multishot: false })
  closeSync(r)
  closeSync(w)
})

function pipe(): [number, number] {
  const fds = Buffer.alloc(8)
  if (pipe2(fds, sys.O_CLOEXEC) !== 0) throw new Error(`pipe2 failed: errno ${sys.errno()}`)
  return [fds.readInt32LE(0), fds.readInt32LE(4)]
}
const exited = (c: ChildProcess): Promise<number | null> => new Promise((resolve) => c.once('close', (code) => resolve(code)))

describe('splicePipes', () => {
  it('copies 24 MiB from a producer process to a consumer process byte for byte, and resolves with the count', async () => {
    const before = fdCount()
    const src = join(dir, 'src.bin')
    const dst = join(dir, 'dst.bin')
    const data = bytes(24 << 20, 11)
    writeFileSync(src, data)
    const [ar, aw] = pipe()
    const [br, bw] = pipe()
    // Exit promises at once: a child may be gone before the copy resolves.
    const producer = exited(spawn('cat', [src], { stdio: ['ignore', aw, 'inherit'] }))
    const out = openSync(dst, 'w')
    const consumer = exited(spawn('cat', [], { stdio: [br, out, 'inherit'] }))
    closeSync(aw)
    closeSync(br)
    closeSync(out)
    expect(await splicePipes(ar, bw)).toBe(data.length)
    closeSync(ar)
    closeSync(bw)
    expect(await producer).toBe(0)
    expect(await consumer).toBe(0)
    expect(readFileSync(dst).equals(data)).toBe(true)
    expect(fdCount()).toBe(before)
  })

  it('rejects with EPIPE when the consumer goes away', async () => {
    const [ar, aw] = pipe()
    const [br, bw] = pipe()
    const producer = exited(spawn('sh', ['-c', 'head -c 8388608 /dev/zero'], { stdio: ['ignore', aw, 'inherit'] }))
    const consumer = exited(spawn('head', ['-c', '1000'], { stdio: [br, 'ignore', 'inherit'] }))
    closeSync(aw)
    closeSync(br)
    const err = await splicePipes(ar, bw).catch((e: unknown) => e)
    expect(IoError.is(err) && err.errno).toBe(EPIPE)
    closeSync(ar)
    closeSync(bw)
    await consumer
    await producer
  })

  it('waits on an empty input without spinning, and an abort ends the wait', async () => {
    const [ar, aw] = pipe()
    const [br, bw] = pipe()
    const ac = new AbortController()
    const cpu0 = process.cpuUsage()
    const copy = splicePipes(ar, bw, { signal: ac.signal })
    await new Promise((r) => setTimeout(r, 300))
    ac.abort()
    await expect(copy).rejects.toMatchObject({ name: 'AbortError' })
    const used = process.cpuUsage(cpu0)
    expect((used.user + used.system) / 1000).toBeLessThan(150) // ms of CPU over 300 ms of waiting
    for (const fd of [ar, aw, br, bw]) closeSync(fd)
  })

  it('refuses what is not a pipe, at the call site', () => {
    const f = openSync(join(dir, 'plain'), 'w')
    const [r, w] = pipe()
    expect(() => splicePipes(f, w)).toThrow(TypeError)
    expect(() => splicePipes(r, f)).toThrow(TypeError)
    for (const fd of [f, r, w]) closeSync(fd)
  })
})
