/**
 * The few libc calls only `@ringio/tty` needs, through koffi: terminal
 * attributes (`tcgetattr`/`tcsetattr`), `ioctl` for the window size, a
 * `vmsplice` and `_exit`. Each is declared once with a fixed prototype.
 * The calls core also makes (`read`, `writev`, `poll`, `sched_yield`, every `fcntl`) are bound in
 * core and imported as `libc` from `@ringio/core`: there, `F_SETFL` is
 * `setOwnedNonBlocking`, which only the owned paths call — shared handles
 * (fds 0-2 and `{ shared: true }`) are never passed to it (DESIGN.md
 * principle 3).
 *
 * @packageDocumentation
 * @internal
 */
import koffi from 'koffi'
import { libc as coreLibc, PollEvents } from '@ringio/core/transport'

const lib = koffi.load('libc.so.6')

/** `tcgetattr(fd, struct termios *)`: 0 or -1 (errno). */
export const tcgetattr = lib.func('int tcgetattr(int fd, void *termios)') as (fd: number, termios: Uint8Array) => number
/** `tcsetattr(fd, when, const struct termios *)`: 0 or -1 (errno). */
export const tcsetattr = lib.func('int tcsetattr(int fd, int when, const void *termios)') as (
  fd: number,
  when: number,
  termios: Uint8Array,
) => number
// glibc's ioctl is a plain system-call wrapper (it never reads its variadic
// part as floating point), so a fixed three-argument prototype is exact here.
/** `ioctl(fd, request, void *arg)`: 0 or -1 (errno). */
export const ioctl = lib.func('int ioctl(int fd, unsigned long request, void *arg)') as (
  fd: number,
  request: number,
  arg: Uint8Array,
) => number
/** `poll` and `sched_yield`, bound once in core. */
export const poll = coreLibc.poll
/** `vmsplice(2)`: hands pages of ours to a pipe (`splice-stage.ts`; always with `SPLICE_F_NONBLOCK`). */
export const vmsplice = lib.func('long vmsplice(int fd, const void *iov, unsigned long nr_segs, unsigned int flags)') as (
  fd: number,
  iov: Uint8Array,
  nrSegs: number,
  flags: number,
) => number
/** `sched_yield(2)`: between tries of a write into a full pipe, lets its reader run (bound once in core). */
export const schedYield = coreLibc.schedYield
/** `_exit(2)`: ends the process at once, without joining libuv's threads (which a blocked write would hold forever). */
export const hardExit = lib.func('void _exit(int status)') as (status: number) => void

/** The calling thread's `errno` after the last koffi call. */
export function errno(): number {
  return koffi.errno()
}

/** `TCSANOW`: apply attributes at once. */
export const TCSANOW = 0
/** `TCSADRAIN`: apply after queued output has been transmitted (what leaving raw mode wants). */
export const TCSADRAIN = 1
/** `TIOCGWINSZ`: read `struct winsize`. */
export const TIOCGWINSZ = 0x5413

/** True when `poll(fd)` reports POLLHUP right now (a hung-up terminal, a pipe with no writer). */
export function hungUp(fd: number): boolean {
  const pfd = Buffer.alloc(8) // struct pollfd { int fd; short events; short revents; }
  pfd.writeInt32LE(fd, 0)
  pfd.writeInt16LE(PollEvents.IN, 4) // POLLHUP is always reported
  if (poll(pfd, 1, 0) <= 0) return false
  return (pfd.readInt16LE(6) & PollEvents.HUP) !== 0
}
