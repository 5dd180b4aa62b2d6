import { closeSync, openSync } from 'node:fs'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openPtyPair, type PtyPair } from '../test/helpers/pty-pair.js'
import { keepsStdioFlags } from '../test/helpers/stdio-flags.js'
import { Termios } from './termios.js'

describe('Termios', () => {
  keepsStdioFlags()
  let pty: PtyPair
  beforeEach(() => {
    pty = openPtyPair()
  })
  afterEach(() => pty.close())

  it('reads a fresh terminal as cooked (canonical, echo)', () => {
    const t = Termios.read(pty.slave)
    expect(t.isRaw).toBe(false)
    expect(t.lflag & 0o2).toBe(0o2) // ICANON
  })

  it('raw() is what libuv calls raw: no ICANON/ECHO/ISIG/IEXTEN, no ICRNL/IXON, output processing kept', () => {
    const cooked = Termios.read(pty.slave)
    const raw = cooked.raw()
    expect(raw.lflag & (0o1 | 0o2 | 0o10 | 0o100000)).toBe(0)
    expect(raw.iflag & (0o400 | 0o2000)).toBe(0)
    expect(raw.oflag & 0o5).toBe(0o5) // OPOST | ONLCR
    expect(raw.equals(cooked)).toBe(false)
    expect(Termios.read(pty.slave).equals(cooked)).toBe(true) // a transformation, not an application
  })

  it('apply() round-trips through the kernel', () => {
    const cooked = Termios.read(pty.slave)
    cooked.raw().apply(pty.slave)
    expect(Termios.read(pty.slave).isRaw).toBe(true)
    cooked.apply(pty.slave)
    expect(Termios.read(pty.slave).equals(cooked)).toBe(true)
  })

  it('throws IoError ENOTTY for a non-terminal and EBADF for a closed fd', () => {
    const nul = openSync('/dev/null', 'r')
    closeSync(nul)
    expect(() => Termios.read(nul)).toThrow(expect.objectContaining({ code: 'EBADF', op: 'tcgetattr' }))
    const file = openSync('/dev/null', 'r')
    try {
      expect(() => Termios.read(file)).toThrow(expect.objectContaining({ code: 'ENOTTY', op: 'tcgetattr' }))
    } finally {
      closeSync(file)
    }
  })
})
