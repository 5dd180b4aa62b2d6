/**
 * Synchronous socket calls that need no ring: bind, listen, socket options and
 * names. They never block. Exposed for `@ringio/net` (which must not load
 * koffi itself) and for users who build their own transports.
 *
 * @packageDocumentation
 */
import { IoError } from '../errors.js'
import { close, errno, getsockopt, lib, shutdown } from './libc.js'
import { beforeSyncClose } from './close-hooks.js'

const bindFn = lib.func('int bind(int fd, const void *addr, uint32_t len)') as (fd: number, addr: Uint8Array, len: number) => number
const listenFn = lib.func('int listen(int fd, int backlog)') as (fd: number, backlog: number) => number
const setsockoptFn = lib.func('int setsockopt(int fd, int level, int name, const void *val, uint32_t len)') as (
  fd: number,
  level: number,
  name: number,
  val: Uint8Array,
  len: number,
) => number
const getsocknameFn = lib.func('int getsockname(int fd, void *addr, _Inout_ uint32_t *len)') as (fd: number, addr: Uint8Array, len: number[]) => number
const getpeernameFn = lib.func('int getpeername(int fd, void *addr, _Inout_ uint32_t *len)') as (fd: number, addr: Uint8Array, len: number[]) => number

function check(r: number, op: string, fd: number): void {
  if (r < 0) throw new IoError(errno(), op, fd)
}

/** `bind(fd, addr)`; throws `IoError` (`EADDRINUSE`, `EACCES`, …). */
export function bind(fd: number, addr: Uint8Array): void {
  check(bindFn(fd, addr, addr.length), 'bind', fd)
}

/** `listen(fd, backlog)`. */
export function listen(fd: number, backlog: number): void {
  check(listenFn(fd, backlog), 'listen', fd)
}

const intBuf = Buffer.alloc(4)
const intLen = Buffer.alloc(4)
/** `setsockopt(fd, level, name, &int)`. */
export function setIntOption(fd: number, level: number, name: number, value: number): void {
  intBuf.writeInt32LE(value)
  check(setsockoptFn(fd, level, name, intBuf, 4), 'setsockopt', fd)
}

/** `getsockopt(fd, level, name)` for an int option. */
export function getIntOption(fd: number, level: number, name: number): number {
  intLen.writeUInt32LE(4)
  check(getsockopt(fd, level, name, intBuf, intLen), 'getsockopt', fd)
  return intBuf.readInt32LE(0)
}

/** `setsockopt(fd, level, name, bytes)` for structured options (e.g. `ip_mreq`). */
export function setBytesOption(fd: number, level: number, name: number, value: Uint8Array): void {
  check(setsockoptFn(fd, level, name, value, value.length), 'setsockopt', fd)
}

/** The socket's local address as a raw `sockaddr` (decode it with the net package). */
export function sockName(fd: number): Buffer {
  const buf = Buffer.alloc(128)
  const len = [128]
  check(getsocknameFn(fd, buf, len), 'getsockname', fd)
  return buf.subarray(0, len[0])
}

/** The peer's address as a raw `sockaddr`. */
export function peerName(fd: number): Buffer {
  const buf = Buffer.alloc(128)
  const len = [128]
  check(getpeernameFn(fd, buf, len), 'getpeername', fd)
  return buf.subarray(0, len[0])
}

/**
 * `shutdown(fd, how)` synchronously (0 read, 1 write, 2 both); throws `IoError`
 * (`ENOTCONN`, `EBADF`…). On a listening socket it stops the listening at
 * once, even while an in-flight ACCEPT still holds the file.
 */
export function shutdownSync(fd: number, how: number): void {
  check(shutdown(fd, how), 'shutdown', fd)
}

/** Closes an fd synchronously (for error paths before a ring op could). */
export function closeSync(fd: number): void {
  beforeSyncClose(fd)
  close(fd)
}
