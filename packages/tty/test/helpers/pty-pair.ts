/**
 * A pseudo-terminal pair opened in the test process itself (posix_openpt,
 * grantpt, unlockpt, ptsname through koffi), for unit tests of termios, raw
 * mode and size on a real terminal without a child process. The slave is
 * opened O_NOCTTY: it never becomes the test process's controlling terminal.
 */
import { closeSync, constants, openSync } from 'node:fs'
import koffi from 'koffi'

const lib = koffi.load('libc.so.6')
const posixOpenpt = lib.func('int posix_openpt(int flags)') as (flags: number) => number
const grantpt = lib.func('int grantpt(int fd)') as (fd: number) => number
const unlockpt = lib.func('int unlockpt(int fd)') as (fd: number) => number
const ptsname = lib.func('const char *ptsname(int fd)') as (fd: number) => string | null
const ioctl = lib.func('int ioctl(int fd, unsigned long request, void *arg)') as (fd: number, req: number, arg: Uint8Array) => number
const TIOCSWINSZ = 0x5414

/** Both ends of a fresh PTY. */
export interface PtyPair {
  readonly master: number
  readonly slave: number
  /** Sets the window size (as a terminal emulator does on resize). */
  resize(rows: number, cols: number): void
  close(): void
}

export function openPtyPair(): PtyPair {
  const master = posixOpenpt(constants.O_RDWR | constants.O_NOCTTY)
  if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) throw new Error(`openpt failed: errno ${koffi.errno()}`)
  const name = ptsname(master)
  if (name === null) throw new Error('ptsname failed')
  const slave = openSync(name, constants.O_RDWR | constants.O_NOCTTY)
  return {
    master,
    slave,
    resize(rows, cols) {
      const ws = Buffer.alloc(8)
      ws.writeUInt16LE(rows, 0)
      ws.writeUInt16LE(cols, 2)
      if (ioctl(master, TIOCSWINSZ, ws) < 0) throw new Error(`TIOCSWINSZ failed: errno ${koffi.errno()}`)
    },
    close() {
      closeSync(slave)
      closeSync(master)
    },
  }
}
