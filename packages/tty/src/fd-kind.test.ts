import { closeSync, openSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { describe, expect, it } from 'vitest'
import { makePipe } from '../test/helpers/fifo.js'
import { openPtyPair } from '../test/helpers/pty-pair.js'
import { fdKind, isTTY } from './fd-kind.js'

describe('fdKind', () => {
  it('classifies a terminal, pipe, file and character device', () => {
    const pty = openPtyPair()
    const pipe = makePipe()
    const file = openSync(new URL(import.meta.url), 'r')
    const nul = openSync('/dev/null', 'r')
    try {
      expect(fdKind(pty.slave)).toBe('tty')
      expect(isTTY(pty.slave)).toBe(true)
      expect(fdKind(pipe.r)).toBe('pipe')
      expect(fdKind(file)).toBe('file')
      expect(fdKind(nul)).toBe('char')
      expect(isTTY(nul)).toBe(false)
    } finally {
      pty.close()
      pipe.close()
      closeSync(file)
      closeSync(nul)
    }
  })

  it('classifies a socket', async () => {
    const server = createServer().listen(0, '127.0.0.1')
    await new Promise((r) => server.once('listening', r))
    const port = (server.address() as { port: number }).port
    const sock = connect(port, '127.0.0.1')
    await new Promise((r) => sock.once('connect', r))
    try {
      expect(fdKind((sock as unknown as { _handle: { fd: number } })._handle.fd)).toBe('socket')
    } finally {
      sock.destroy()
      server.close()
    }
  })

  it('throws IoError EBADF for a closed fd', () => {
    const fd = openSync('/dev/null', 'r')
    closeSync(fd)
    expect(() => fdKind(fd)).toThrow(expect.objectContaining({ name: 'IoError', code: 'EBADF', op: 'fstat', handle: fd }))
  })
})
