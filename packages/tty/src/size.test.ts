import { closeSync, openSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { openPtyPair } from '../test/helpers/pty-pair.js'
import { size } from './size.js'

describe('size', () => {
  it('reads the window size of a terminal', () => {
    const pty = openPtyPair()
    try {
      pty.resize(33, 120)
      expect(size(pty.slave)).toEqual({ rows: 33, columns: 120, width: 0, height: 0 })
    } finally {
      pty.close()
    }
  })

  it('throws IoError ENOTTY for a non-terminal and EBADF for a closed fd', () => {
    const nul = openSync('/dev/null', 'r')
    try {
      expect(() => size(nul)).toThrow(expect.objectContaining({ code: 'ENOTTY', op: 'ioctl(TIOCGWINSZ)' }))
    } finally {
      closeSync(nul)
    }
    expect(() => size(nul)).toThrow(expect.objectContaining({ code: 'EBADF' }))
  })
})
