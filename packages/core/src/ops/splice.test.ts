/**
 * IORING_OP_SPLICE (and its poll-backend form) on real blocking pipes — the
 * kind a shell hands a CLI as stdin and stdout: bytes moved exactly, EOF,
 * cancellation of a splice waiting on an empty pipe, EPIPE, a file at an
 * offset, and no fd left behind.
 */
import { closeSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { bytes, pipe2 } from '../../test/helpers/fds.js'
import * as sys from '../poll/sys.js'
import { EPIPE, IoError, nop, splice } from '../transport.js'

const fdCount = (): number => readdirSync('/proc/self/fd').length
const dir = mkdtempSync(join(tmpdir(), 'ringio-splice-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let open: number[] = []
/** A blocking pipe `[read, write]`, as a shell makes them. */
function pipe(): [number, number] {
  const fds = Buffer.alloc(8)
  if (pipe2(fds, sys.O_CLOEXEC) !== 0) throw new Error(`pipe2 failed: errno ${sys.errno()}`)
  const pair: [number, number] = [fds.readInt32LE(0), fds.readInt32LE(4)]
  open.push(...pair)
  return pair
}
function closeFd(fd: number): void {
  closeSync(fd)
  open = open.filter((x) => x !== fd)
}
/** Reads exactly `n` bytes from a blocking fd. */
function readN(fd: number, n: number): Buffer {
  const out = Buffer.alloc(n)
  let got = 0
  while (got < n) got += readSync(fd, out, got, n - got, null)
  return out
}

// The proactor's own fds (ring and eventfd; the poll backend's private epoll
// set, made at its first gated wait) exist before the first count.
beforeAll(async () => {
  await nop()
  const [ar, aw] = pipe()
  const [br, bw] = pipe()
  writeSync(aw, Buffer.from('x'))
  await splice(ar, bw, 1)
  for (const fd of [ar, aw, br, bw]) closeFd(fd)
})
let before = 0
beforeEach(() => {
  before = fdCount()
})
afterEach(() => {
  for (const fd of open) closeSync(fd)
  open = []
  expect(fdCount()).toBe(before)
})

describe('splice', () => {
  it('moves the bytes from pipe to pipe exactly, then resolves 0 at the end of the input', async () => {
    const [ar, aw] = pipe()
    const [br, bw] = pipe()
    const data = bytes(48 * 1024, 7)
    writeSync(aw, data)
    closeFd(aw)
    let moved = 0
    while (moved < data.length) {
      const n = await splice(ar, bw, 1 << 20)
      expect(n).toBeGreaterThan(0)
      moved += n
    }
    expect(moved).toBe(data.length)
    expect(readN(br, data.length).equals(data)).toBe(true)
    expect(await splice(ar, bw, 1 << 20)).toBe(0)
  })

  it('a splice waiting on an empty pipe is cancelled by its signal, and takes nothing', async () => {
    const [ar, aw] = pipe()
    const [, bw] = pipe()
    const ac = new AbortController()
    const pending = splice(ar, bw, 4096, { signal: ac.signal })
    await new Promise((r) => setTimeout(r, 50))
    ac.abort()
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' })
    // Nothing was consumed: what is written now is still there to read.
    writeSync(aw, Buffer.from('after the abort'))
    expect(readN(ar, 15).toString()).toBe('after the abort')
  })

  it('rejects with EPIPE when the output pipe has no reader', async () => {
    const [ar, aw] = pipe()
    const [br, bw] = pipe()
    closeFd(br)
    writeSync(aw, Buffer.from('nobody reads this'))
    const err = await splice(ar, bw, 4096).catch((e: unknown) => e)
    expect(IoError.is(err)).toBe(true)
    expect((err as IoError).errno).toBe(EPIPE)
    expect((err as IoError).op).toBe('splice')
  })

  it('reads a file at an offset into a pipe', async () => {
    const path = join(dir, 'src.bin')
    const data = bytes(8192, 3)
    writeFileSync(path, data)
    const fd = openSync(path, 'r')
    open.push(fd)
    const [br, bw] = pipe()
    expect(await splice(fd, bw, 100, { offIn: 5 })).toBe(100)
    expect(readN(br, 100).equals(data.subarray(5, 105))).toBe(true)
  })

  it('checks its arguments at the call site', () => {
    expect(() => splice(-1, 1, 10)).toThrow(RangeError)
    expect(() => splice(0, 1, -1)).toThrow(RangeError)
    expect(() => splice(0, 1, 10, { offIn: -2 })).toThrow(RangeError)
  })
})
