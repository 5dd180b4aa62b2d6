/**
 * The raw op, the escape hatch for io_uring opcodes ringio does not wrap:
 * real SQE images on the ring (a read of a real file, FADVISE), and a clear
 * error where it cannot run.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { BACKEND } from '../../test/helpers/fds.js'
import { addressOf, getProactor, IoError, run, SQE } from '../transport.js'

const IORING_OP_READ = 22
const IORING_OP_FADVISE = 24
const dir = mkdtempSync(join(tmpdir(), 'ringio-raw-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function sqeOf(opcode: number, fd: number): Buffer {
  const sqe = Buffer.alloc(SQE.SIZE)
  sqe[SQE.opcode] = opcode
  sqe.writeInt32LE(fd, SQE.fd)
  return sqe
}

describe.skipIf(BACKEND !== 'uring')('raw op on io_uring', () => {
  it('a raw READ SQE reads a real file into the buffer it names', async () => {
    const path = join(dir, 'a.txt')
    writeFileSync(path, 'hello from a raw sqe')
    const fd = openSync(path, 'r')
    try {
      const buf = Buffer.alloc(32)
      const sqe = sqeOf(IORING_OP_READ, fd)
      sqe.writeBigUInt64LE(BigInt(addressOf(buf)), SQE.addr)
      sqe.writeUInt32LE(buf.length, SQE.len)
      sqe.writeBigUInt64LE(6n, SQE.off) // from byte 6
      expect(getProactor().supports(IORING_OP_READ)).toBe(true)
      expect(await run({ kind: 'raw', sqe, keep: buf })).toBe(14)
      expect(buf.subarray(0, 14).toString()).toBe('from a raw sqe')
    } finally {
      closeSync(fd)
    }
  })

  it('runs an opcode ringio does not wrap (FADVISE), and its errors are IoErrors', async () => {
    const path = join(dir, 'b.bin')
    writeFileSync(path, Buffer.alloc(4096))
    const fd = openSync(path, 'r')
    try {
      const p = getProactor()
      expect(p.supports('raw')).toBe(true)
      if (!p.supports(IORING_OP_FADVISE)) return
      const sqe = sqeOf(IORING_OP_FADVISE, fd)
      sqe.writeUInt32LE(4096, SQE.len)
      sqe.writeUInt32LE(2, SQE.op_flags) // POSIX_FADV_SEQUENTIAL
      expect(await run({ kind: 'raw', sqe })).toBe(0)
      const bad = sqeOf(IORING_OP_FADVISE, 1_000_000)
      await expect(run({ kind: 'raw', sqe: bad })).rejects.toMatchObject({ code: 'EBADF', op: 'raw' })
    } finally {
      closeSync(fd)
    }
  })
})

describe('raw op, both backends', () => {
  it('a raw op needs a 64-byte SQE image: anything else throws at the call site', () => {
    expect(() => run({ kind: 'raw', sqe: Buffer.alloc(16) })).toThrow(RangeError)
  })

  it.skipIf(BACKEND !== 'poll')('the poll backend has no SQEs: supports() says so, and starting one throws ENOSYS', () => {
    const p = getProactor()
    expect(p.supports('raw')).toBe(false)
    expect(p.supports(IORING_OP_READ)).toBe(false)
    let err: unknown
    try {
      p.start({ kind: 'raw', sqe: Buffer.alloc(SQE.SIZE) }, { complete: () => {} })
    } catch (e) {
      err = e
    }
    expect(IoError.is(err) && err.code).toBe('ENOSYS')
  })
})
