import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { HUGE_PAGE, HugeRegion, thpPossible } from './huge-region.js'
import { addressOf } from './sys/libc.js'

/** The mappings of this process that cover `addr` (0 or 1). */
const mapped = (addr: number): number =>
  readFileSync('/proc/self/maps', 'latin1')
    .split('\n')
    .filter((l) => {
      const m = /^([0-9a-f]+)-([0-9a-f]+)/.exec(l)
      return m !== null && addr >= parseInt(m[1]!, 16) && addr < parseInt(m[2]!, 16)
    }).length

describe('HugeRegion', () => {
  it('is zeroed memory on a huge-page boundary, rounded up to whole huge pages, at the address its view has', () => {
    const r = new HugeRegion(HUGE_PAGE + 1)
    try {
      expect(r.length).toBe(2 * HUGE_PAGE)
      expect(r.bytes.length).toBe(r.length)
      expect(r.addr % HUGE_PAGE).toBe(0)
      expect(addressOf(r.bytes)).toBe(r.addr)
      expect(r.bytes.every((b) => b === 0)).toBe(true)
    } finally {
      r.release()
    }
  })

  it('drop() gives fresh zeroed pages at the same addresses', () => {
    const r = new HugeRegion(HUGE_PAGE)
    try {
      r.bytes.fill(0xab)
      expect(r.drop()).toBe(true)
      expect(addressOf(r.bytes)).toBe(r.addr)
      expect(r.bytes.every((b) => b === 0)).toBe(true)
    } finally {
      r.release()
    }
  })

  it('says whether it got huge pages, the same way on and off the JS thread; never where THP is off', async () => {
    const r = new HugeRegion(HUGE_PAGE)
    try {
      r.bytes[0] = 1
      const huge = r.hugePages()
      expect(await r.hugePagesAsync()).toBe(huge)
      if (!thpPossible()) expect(huge).toBe(false)
    } finally {
      r.release()
    }
  })

  it('release() unmaps exactly the region, once', () => {
    const r = new HugeRegion(HUGE_PAGE)
    expect(mapped(r.addr)).toBe(1)
    r.release()
    r.release()
    expect(mapped(r.addr)).toBe(0)
    expect(mapped(r.addr + r.length - 1)).toBe(0)
    expect(r.drop()).toBe(false) // nothing to drop any more
  })
})
