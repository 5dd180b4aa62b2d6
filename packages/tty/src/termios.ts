/**
 * `struct termios` as bytes: read and write a terminal's attributes, and the
 * raw-mode transformation. The layout is glibc's on Linux (x86-64 and
 * aarch64 alike): four `tcflag_t` words, `c_line`, `c_cc[32]`, then the two
 * speeds — 60 bytes.
 *
 * @packageDocumentation
 */
import { EINTR, IoError } from '@ringio/core/transport'
import { errno, tcgetattr, tcsetattr, TCSADRAIN } from './libc.js'

const SIZE = 60
const IFLAG = 0
const OFLAG = 4
const CFLAG = 8
const LFLAG = 12
const CC = 17
const VTIME = 5
const VMIN = 6

// c_iflag
const BRKINT = 0o2
const INPCK = 0o20
const ISTRIP = 0o40
const ICRNL = 0o400
const IXON = 0o2000
// c_oflag
const OPOST = 0o1
const ONLCR = 0o4
// c_cflag
const CS8 = 0o60
// c_lflag
const ISIG = 0o1
const ICANON = 0o2
const ECHO = 0o10
const IEXTEN = 0o100000

/** A snapshot of a terminal's attributes. Immutable: transformations return a new one. */
export class Termios {
  private constructor(private readonly bytes: Buffer) {}

  /**
   * Reads `fd`'s attributes (`tcgetattr`).
   * @throws IoError `ENOTTY` when `fd` is not a terminal, `EBADF` when it is not open
   */
  static read(fd: number): Termios {
    const b = Buffer.alloc(SIZE)
    if (tcgetattr(fd, b) < 0) throw new IoError(errno(), 'tcgetattr', fd)
    return new Termios(b)
  }

  /** Input modes (`c_iflag`). */
  get iflag(): number {
    return this.bytes.readUInt32LE(IFLAG)
  }
  /** Output modes (`c_oflag`). */
  get oflag(): number {
    return this.bytes.readUInt32LE(OFLAG)
  }
  /** Control modes (`c_cflag`). */
  get cflag(): number {
    return this.bytes.readUInt32LE(CFLAG)
  }
  /** Local modes (`c_lflag`). */
  get lflag(): number {
    return this.bytes.readUInt32LE(LFLAG)
  }
  /** True when canonical (line) mode and echo are both off. */
  get isRaw(): boolean {
    return (this.lflag & (ICANON | ECHO)) === 0
  }

  /**
   * Raw mode as libuv (and so Node's `setRawMode`) makes it: no line editing,
   * no echo, no signal keys (Ctrl-C arrives as byte 0x03), no CR→NL or flow
   * control on input, 8-bit characters, reads return after one byte. Output
   * processing stays on, so `\n` still moves to the start of the next line.
   */
  raw(): Termios {
    const b = Buffer.from(this.bytes)
    b.writeUInt32LE((this.iflag & ~(BRKINT | ICRNL | INPCK | ISTRIP | IXON)) >>> 0, IFLAG)
    b.writeUInt32LE((this.oflag | OPOST | ONLCR) >>> 0, OFLAG)
    b.writeUInt32LE((this.cflag | CS8) >>> 0, CFLAG)
    b.writeUInt32LE((this.lflag & ~(ECHO | ICANON | IEXTEN | ISIG)) >>> 0, LFLAG)
    b[CC + VMIN] = 1
    b[CC + VTIME] = 0
    return new Termios(b)
  }

  /**
   * Applies these attributes to `fd` (`tcsetattr`). Terminal attributes belong
   * to the terminal, not to a file description: this is the one piece of
   * shared state raw mode changes, and it is always put back (see `setRawMode`).
   * @param when `TCSADRAIN` (default: after pending output) or `TCSANOW`
   * @throws IoError with the errno of `tcsetattr`
   */
  apply(fd: number, when = TCSADRAIN): void {
    // TCSADRAIN waits for output to drain and may be interrupted by a signal: retry EINTR.
    for (let tries = 0; ; tries++) {
      if (tcsetattr(fd, when, this.bytes) === 0) return
      const no = errno()
      if (no !== EINTR || tries >= 8) throw new IoError(no, 'tcsetattr', fd)
    }
  }

  /** True when both snapshots hold the same attributes. */
  equals(other: Termios): boolean {
    return this.bytes.equals(other.bytes)
  }
}
