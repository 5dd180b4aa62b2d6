import { openSync, closeSync } from 'node:fs'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openPtyPair, type PtyPair } from '../test/helpers/pty-pair.js'
import { keepsStdioFlags } from '../test/helpers/stdio-flags.js'
import { isRawMode, setRawMode } from './raw-mode.js'
import { Termios } from './termios.js'

describe('setRawMode', () => {
  keepsStdioFlags()
  let pty: PtyPair
  let cooked: Termios
  beforeEach(() => {
    pty = openPtyPair()
    cooked = Termios.read(pty.slave)
  })
  afterEach(() => {
    setRawMode(false, { fd: pty.slave })
    pty.close()
  })

  it('holds are counted: raw until the last one is restored, then the saved attributes come back', () => {
    const a = setRawMode(true, { fd: pty.slave })
    const b = setRawMode(true, { fd: pty.slave })
    expect(isRawMode(pty.slave)).toBe(true)
    expect(Termios.read(pty.slave).isRaw).toBe(true)
    a.restore()
    a.restore() // idempotent
    expect(a.active).toBe(false)
    expect(Termios.read(pty.slave).isRaw).toBe(true)
    b.restore()
    expect(isRawMode(pty.slave)).toBe(false)
    expect(Termios.read(pty.slave).equals(cooked)).toBe(true)
  })

  it('setRawMode(false) restores at once and releases every hold', () => {
    const a = setRawMode(true, { fd: pty.slave })
    const off = setRawMode(false, { fd: pty.slave })
    expect(off.active).toBe(false)
    expect(a.active).toBe(false)
    expect(Termios.read(pty.slave).equals(cooked)).toBe(true)
    a.restore() // harmless after the fact
    expect(Termios.read(pty.slave).equals(cooked)).toBe(true)
  })

  it('installs its exit and signal hooks only while raw', () => {
    const before = process.listenerCount('SIGTERM')
    const a = setRawMode(true, { fd: pty.slave })
    expect(process.listenerCount('SIGTERM')).toBe(before + 1)
    a.restore()
    expect(process.listenerCount('SIGTERM')).toBe(before)
  })

  it('throws IoError ENOTTY for a non-terminal, and changes nothing', () => {
    const fd = openSync('/dev/null', 'r')
    try {
      expect(() => setRawMode(true, { fd })).toThrow(expect.objectContaining({ code: 'ENOTTY' }))
      expect(isRawMode(fd)).toBe(false)
    } finally {
      closeSync(fd)
    }
  })
})
