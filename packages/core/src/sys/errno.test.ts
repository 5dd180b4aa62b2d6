/**
 * The errno module against the kernel's numbers as Node knows them
 * (`os.constants.errno`, from the C headers Node was built with), and
 * `errnoName` as `IoError` uses it.
 */
import { constants } from 'node:os'
import { describe, expect, it } from 'vitest'
import * as errno from './errno.js'

describe('errno', () => {
  it("names each number as the kernel's headers do", () => {
    const named = Object.entries(errno).filter(([k]) => /^E[A-Z]+$/.test(k))
    expect(named.length).toBeGreaterThan(15)
    for (const [name, value] of named) expect([name, value]).toEqual([name, constants.errno[name as keyof typeof constants.errno]])
  })

  it('errnoName maps numbers back to names, and unknown numbers to E<n>', () => {
    expect(errno.errnoName(errno.ECANCELED)).toBe('ECANCELED')
    expect(errno.errnoName(104)).toBe('ECONNRESET')
    expect(errno.errnoName(errno.EAGAIN)).toBe('EAGAIN') // not its alias EWOULDBLOCK
    expect(errno.errnoName(4095)).toBe('E4095')
  })
})
