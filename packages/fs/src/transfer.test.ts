import { describe, expect, it } from 'vitest'
import { advance } from './transfer.js'

describe('advance (resuming a short readv/writev)', () => {
  const bufs = [Buffer.from('abc'), Buffer.from('de'), Buffer.from('fghi')]
  const text = (b: Uint8Array[]): string => Buffer.concat(b).toString()

  it('drops whole buffers and slices the next one, at every byte boundary', () => {
    for (let n = 0; n <= 9; n++) expect(text(advance(bufs, n))).toBe('abcdefghi'.slice(n))
    expect(advance(bufs, 9)).toEqual([])
    expect(advance(bufs, 5)[0]!.toString()).toBe('fghi')
  })
})
