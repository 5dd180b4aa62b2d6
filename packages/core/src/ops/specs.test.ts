/**
 * The op table: every kind has its spec, both backends probe them, and bad
 * op data fails at the call site without leaving anything started (on
 * io_uring, not even a half-filled SQE).
 */
import { describe, expect, it } from 'vitest'
import { BACKEND } from '../../test/helpers/fds.js'
import { getProactor, nop, type BufferGroup, type Op } from '../transport.js'
import { OP_KINDS, specOf } from './specs.js'

describe('the op table', () => {
  it('has a spec for every kind, under its own kind, with both forms', () => {
    expect(OP_KINDS.length).toBe(24)
    for (const kind of OP_KINDS) {
      const spec = specOf({ kind } as Op)
      expect(spec.kind).toBe(kind)
      expect(typeof spec.uring).toBe('function')
      expect(typeof spec.poll.route).toBe('number')
      expect(spec.errorName.length).toBeGreaterThan(0)
    }
  })

  it('supports() answers for every kind on this backend', () => {
    const p = getProactor()
    for (const kind of OP_KINDS) {
      // FTRUNCATE needs Linux 6.9 on io_uring; raw has no poll form.
      if (kind === 'ftruncate' || kind === 'raw') continue
      expect(p.supports(kind), kind).toBe(true)
    }
    expect(p.supports('raw')).toBe(BACKEND === 'uring')
  })

  it('something that is not an op is a TypeError at the call site', () => {
    const p = getProactor()
    const c = { complete: () => {} }
    expect(() => p.start({ kind: 'bogus' } as unknown as Op, c)).toThrow(TypeError)
    expect(() => p.start(null as unknown as Op, c)).toThrow(TypeError)
  })

  it('bad op data throws before anything starts, and the proactor goes on', async () => {
    const p = getProactor()
    const c = { complete: () => {} }
    const pending = p.pending
    // Checked by the op's spec, before an SQE is taken.
    expect(() => p.start({ kind: 'read', fd: 0, buf: 'not bytes' as unknown as Buffer, offset: 0 }, c)).toThrow(TypeError)
    expect(() => p.start({ kind: 'statx', dirfd: -100, path: Buffer.from('no-nul'), flags: 0, mask: 0, buf: Buffer.alloc(256) }, c)).toThrow(TypeError)
    // Checked by the backend while the op is encoded (on io_uring the SQE is taken: it becomes a NOP nobody waits for).
    const foreign = { id: 999, count: 1, size: 1 } as unknown as BufferGroup
    expect(() => p.start({ kind: 'recvMultishot', fd: 0, group: foreign }, c)).toThrow(TypeError)
    expect(p.pending).toBe(pending)
    for (let i = 0; i < 10; i++) expect(await nop()).toBe(0)
    expect(p.pending).toBe(pending)
  })
})
