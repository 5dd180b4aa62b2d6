import { describe, expect, it } from 'vitest'
import { decodeStatx } from './stat.js'

describe('decodeStatx', () => {
  it('reads struct statx at the kernel offsets', () => {
    const b = Buffer.alloc(256)
    b.writeUInt32LE(0x2fff, 0) // BASIC_STATS | BTIME | DIOALIGN
    b.writeUInt32LE(4096, 4)
    b.writeUInt16LE(0o100644, 28)
    b.writeBigUInt64LE(1234n, 32)
    b.writeBigUInt64LE(2n ** 40n, 40)
    b.writeBigInt64LE(1_700_000_000n, 112)
    b.writeUInt32LE(500_000_000, 120)
    b.writeUInt32LE(512, 152)
    b.writeUInt32LE(4096, 156)
    const s = decodeStatx(b)
    expect(s).toMatchObject({ type: 'file', size: 2 ** 40, mode: 0o100644, ino: 1234n, blockSize: 4096 })
    expect(s.mtime.getTime()).toBe(1_700_000_000_500)
    expect(s.mtimeNs).toBe(1_700_000_000_500_000_000n)
    expect(s.directAlignment).toEqual({ memory: 512, offset: 4096 })
    b.writeUInt32LE(0x7ff, 0)
    expect(decodeStatx(b).directAlignment).toBeUndefined()
    expect(decodeStatx(b).birthtime).toBeUndefined()
  })
})
