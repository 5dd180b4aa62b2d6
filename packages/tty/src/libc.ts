/**
 * The few libc calls `@ringio/tty` needs beyond the proactor, through koffi:
 * terminal attributes (`tcgetattr`/`tcsetattr`), `ioctl` for the window size,
 * a zero-timeout `poll` to tell a hung-up terminal from a Ctrl-D, and
 * `fcntl`. Each is declared once with a fixed prototype.
 *
 * `fcntl(F_SETFL)` appears here only for {@link setOwnedNonBlocking}, which
 * the owned path alone calls: shared handles (fds 0-2 and `{ shared: true }`)
 * are never passed to it (DESIGN.md principle 3).
 *
 * @packageDocumentation
 * @internal
 */
import koffi from 'koffi'

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
/** `poll(struct pollfd *, nfds, timeout)`. */
export const poll = lib.func('int poll(void *fds, unsigned long nfds, int timeout)') as (
  fds: Uint8Array,
  nfds: number,
  timeout: number,
) => number
const fcntl = lib.func('int fcntl(int fd, int cmd, int arg)') as (fd: number, cmd: number, arg: number) => number
/** `read(2)`, synchronous: only ever on a non-blocking description of ours (`read-path.ts`). */
export const readNow = lib.func('long read(int fd, void *buf, size_t count)') as (fd: number, buf: Uint8Array, count: number) => number
/** `writev(2)`, synchronous: only ever on a non-blocking description of ours (`bulk-pipe.ts`). */
export const writevNow = lib.func('long writev(int fd, const void *iov, int iovcnt)') as (fd: number, iov: Uint8Array, iovcnt: number) => number
/** `vmsplice(2)`: hands pages of ours to a pipe (`splice-stage.ts`; always with `SPLICE_F_NONBLOCK`). */
export const vmsplice = lib.func('long vmsplice(int fd, const void *iov, unsigned long nr_segs, unsigned int flags)') as (
  fd: number,
  iov: Uint8Array,
  nrSegs: number,
  flags: number,
) => number
/** `sched_yield(2)`: between tries of a write into a full pipe, lets its reader run. */
export const schedYield = lib.func('int sched_yield(void)') as () => number
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
/** `O_NONBLOCK`. */
export const O_NONBLOCK = 0o4000
/** `POLLHUP`. */
export const POLLHUP = 0x10

const F_GETFL = 3
const F_SETFL = 4

/** The description's status flags (`F_GETFL`, read-only), or `-errno`. */
export function statusFlags(fd: number): number {
  const fl = fcntl(fd, F_GETFL, 0)
  return fl < 0 ? -errno() : fl
}

/**
 * Sets O_NONBLOCK on an fd ringio **owns** (a private description it opened,
 * or one a caller handed over with `{ shared: false }`). Returns 0 or `-errno`.
 * Never call it with a shared fd.
 */
export function setOwnedNonBlocking(fd: number): number {
  const fl = statusFlags(fd)
  if (fl < 0) return fl
  if ((fl & O_NONBLOCK) !== 0) return 0
  return fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -errno() : 0
}

const F_GETPIPE_SZ = 1032

/** A pipe's capacity in bytes (`F_GETPIPE_SZ`, read-only), or `-errno`. */
export function pipeCapacity(fd: number): number {
  const n = fcntl(fd, F_GETPIPE_SZ, 0)
  return n < 0 ? -errno() : n
}

/** True when `poll(fd)` reports POLLHUP right now (a hung-up terminal, a pipe with no writer). */
export function hungUp(fd: number): boolean {
  const pfd = Buffer.alloc(8) // struct pollfd { int fd; short events; short revents; }
  pfd.writeInt32LE(fd, 0)
  pfd.writeInt16LE(1, 4) // POLLIN; POLLHUP is always reported
  if (poll(pfd, 1, 0) <= 0) return false
  return (pfd.readInt16LE(6) & POLLHUP) !== 0
}
