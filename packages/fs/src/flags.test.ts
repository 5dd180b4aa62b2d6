import { describe, expect, it } from 'vitest'
import { O, parseFlags } from './flags.js'

describe('parseFlags', () => {
  it('maps Node-style strings to open(2) flags', () => {
    expect(parseFlags('r', false)).toEqual({ kernel: O.RDONLY, readable: true, writable: false, truncate: false, direct: false })
    expect(parseFlags('w', false)).toMatchObject({ kernel: O.WRONLY | O.CREAT | O.TRUNC, readable: false, writable: true, truncate: true })
    expect(parseFlags('wx+', false).kernel).toBe(O.RDWR | O.CREAT | O.TRUNC | O.EXCL)
    expect(parseFlags('r+', true)).toMatchObject({ kernel: O.RDWR | O.DIRECT, direct: true })
  })

  it('never passes O_APPEND to the kernel (it would make every write offset void)', () => {
    expect(parseFlags('a', false).kernel & O.APPEND).toBe(0)
    expect(parseFlags('a+', false)).toMatchObject({ kernel: O.RDWR | O.CREAT, readable: true, writable: true })
    expect(parseFlags(O.WRONLY | O.APPEND, false).kernel).toBe(O.WRONLY)
  })

  it('takes numeric flags, and O_DIRECT among them means direct', () => {
    expect(parseFlags(O.RDWR | O.DIRECT, false).direct).toBe(true)
    expect(() => parseFlags(3, false)).toThrow(TypeError)
    expect(() => parseFlags(-1, false)).toThrow(TypeError)
    expect(() => parseFlags('rw' as 'r', false)).toThrow(/one of r, r\+/)
  })
})
