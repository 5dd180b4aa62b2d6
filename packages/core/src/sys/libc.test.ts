/**
 * `addressOf` and its cache of backing-store addresses, checked against
 * koffi's own `address()` while more backing stores cycle through than the
 * cache holds (a stale entry would give a wrong address).
 */
import koffi from 'koffi'
import { describe, expect, it } from 'vitest'
import { addressOf } from './libc.js'

describe('addressOf', () => {
  it('gives the address koffi gives, for views at any offset, across more backing stores than it caches', () => {
    const stores = Array.from({ length: 7 }, (_, i) => Buffer.allocUnsafeSlow(64 + i))
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < stores.length; i++) {
        // Vary the order so every cache slot sees hits and replacements.
        const s = stores[(i * (round + 1)) % stores.length]!
        const at = round % 16
        const view = s.subarray(at, at + 8)
        expect(addressOf(view)).toBe(Number(koffi.address(s)) + at)
      }
    }
  })

  it('tells apart views of Node\'s shared 8 KiB pool by their offsets', () => {
    const a = Buffer.from('first')
    const b = Buffer.from('second')
    expect(a.buffer).toBe(b.buffer) // both from the pool: one backing store
    expect(addressOf(b) - addressOf(a)).toBe(b.byteOffset - a.byteOffset)
    expect(addressOf(a)).toBe(Number(koffi.address(a)))
  })
})
