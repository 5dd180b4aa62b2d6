/**
 * libc for the poll backend, through koffi: each call declared once with a
 * fixed prototype. Synchronous calls take Buffers as `void *` (koffi passes
 * the backing store, no copy). Threadpool calls (`*.async`) take raw
 * addresses as `uintptr_t` Numbers instead, so there is no doubt that the
 * worker thread touches the caller's own memory (kept alive in the op's slot)
 * and not a marshalled copy.
 *
 * No fcntl here: every fcntl of ringio is in `sys/fd-flags.ts`, and the poll
 * backend only reads flags or duplicates fds with it (DESIGN.md principle 3 —
 * never change state we don't own). Calls shared with the io_uring backend (`close`, `read`,
 * `socket`) are bound in `sys/libc.ts` and re-exported here.
 *
 * @packageDocumentation
 */
import { errno, fn, lib } from '../sys/libc.js'

// Shared with the io_uring backend: bound once, in sys/libc.ts.
export { close, errno, fallocate, ftruncate, getsockopt, read, shutdown, socket, statxAt, writev, O_CLOEXEC, O_NONBLOCK, SOCK_CLOEXEC, SOCK_NONBLOCK } from '../sys/libc.js'
export { EAGAIN, ECANCELED, EFAULT, EINPROGRESS, EINTR, EINVAL, ENOBUFS, EPERM, ETIME } from '../sys/errno.js'

type B = Uint8Array

// ---- flags ----
/** `EPOLL_CTL_*` operations. */
export const EPOLL_CTL_ADD = 1
/** @see EPOLL_CTL_ADD */
export const EPOLL_CTL_DEL = 2
/** `EPOLL_CLOEXEC` (== `O_CLOEXEC`). */
export const EPOLL_CLOEXEC = 0x80000
/** `EPOLL*` event bits (the low ones equal `POLL*`). */
export const EPOLLIN = 0x001
/** @see EPOLLIN */
export const EPOLLERR = 0x008
/** @see EPOLLIN */
export const EPOLLHUP = 0x010
/** @see EPOLLIN */
export const EPOLLET = 0x80000000
/** `MSG_PEEK`. */
export const MSG_PEEK = 0x2
/** `MSG_DONTWAIT`: non-blocking for this call only, whatever the description's flags. */
export const MSG_DONTWAIT = 0x40
/** `SOL_SOCKET`. */
export const SOL_SOCKET = 1
/** `SO_ERROR`. */
export const SO_ERROR = 4
/** `POLLIN`. */
export const POLLIN = 0x1
/** `POLLPRI`. */
export const POLLPRI = 0x2
/** `POLLOUT`. */
export const POLLOUT = 0x4
/** `POLLERR`. */
export const POLLERR = 0x8
/** `POLLHUP`. */
export const POLLHUP = 0x10

// ---- sockets ----
/** `accept4(2)` with no peer address (addresses 0). */
export const accept4 = fn<[fd: number, addr: number, len: number, flags: number]>(
  'int accept4(int fd, uintptr_t addr, uintptr_t len, int flags)',
)
/** `connect(2)` from a Buffer. */
export const connect = fn<[fd: number, addr: B, len: number]>('int connect(int fd, void *addr, uint32_t len)')
/** `connect(2)` from an address (threadpool form). */
export const connectAt = fn<[fd: number, addr: number, len: number]>('int connect(int fd, uintptr_t addr, uint32_t len)')
/** `recv(2)` into a Buffer. */
export const recv = fn<[fd: number, buf: B, len: number, flags: number]>('long recv(int fd, void *buf, size_t len, int flags)')
/** `recv(2)` into an address (buffer-group memory: no subarray per call). */
export const recvAt = fn<[fd: number, addr: number, len: number, flags: number]>(
  'long recv(int fd, uintptr_t buf, size_t len, int flags)',
)
/** `send(2)` from a Buffer. */
export const send = fn<[fd: number, buf: B, len: number, flags: number]>('long send(int fd, void *buf, size_t len, int flags)')
/** `recvmsg(2)`. */
export const recvmsg = fn<[fd: number, msg: B, flags: number]>('long recvmsg(int fd, void *msg, int flags)')
/** `sendmsg(2)`. */
export const sendmsg = fn<[fd: number, msg: B, flags: number]>('long sendmsg(int fd, void *msg, int flags)')

// ---- plain I/O, synchronous (non-blocking fds) ----
/** `write(2)` from a Buffer. */
export const write = fn<[fd: number, buf: B, len: number]>('long write(int fd, void *buf, size_t len)')
/** `pread(2)` into a Buffer. */
export const pread = fn<[fd: number, buf: B, len: number, off: number]>('long pread(int fd, void *buf, size_t len, int64_t off)')
/** `pwrite(2)` from a Buffer. */
export const pwrite = fn<[fd: number, buf: B, len: number, off: number]>('long pwrite(int fd, void *buf, size_t len, int64_t off)')
/** `readv(2)`; `iov` is an array of `struct iovec`. */
export const readv = fn<[fd: number, iov: B, cnt: number]>('long readv(int fd, void *iov, int cnt)')
/** `preadv(2)`. */
export const preadv = fn<[fd: number, iov: B, cnt: number, off: number]>('long preadv(int fd, void *iov, int cnt, int64_t off)')
/** `pwritev(2)`. */
export const pwritev = fn<[fd: number, iov: B, cnt: number, off: number]>('long pwritev(int fd, void *iov, int cnt, int64_t off)')

// ---- plain I/O by address (threadpool: blocking fds, files) ----
/** `read(2)` into an address. */
export const readAt = fn<[fd: number, buf: number, len: number]>('long read(int fd, uintptr_t buf, size_t len)')
/** `write(2)` from an address. */
export const writeAt = fn<[fd: number, buf: number, len: number]>('long write(int fd, uintptr_t buf, size_t len)')
/** `pread(2)` into an address. */
export const preadAt = fn<[fd: number, buf: number, len: number, off: number]>(
  'long pread(int fd, uintptr_t buf, size_t len, int64_t off)',
)
/** `pwrite(2)` from an address. */
export const pwriteAt = fn<[fd: number, buf: number, len: number, off: number]>(
  'long pwrite(int fd, uintptr_t buf, size_t len, int64_t off)',
)
/** `readv(2)` with the iovec array by address. */
export const readvAt = fn<[fd: number, iov: number, cnt: number]>('long readv(int fd, uintptr_t iov, int cnt)')
/** `writev(2)` with the iovec array by address. */
export const writevAt = fn<[fd: number, iov: number, cnt: number]>('long writev(int fd, uintptr_t iov, int cnt)')
/** `preadv(2)` with the iovec array by address. */
export const preadvAt = fn<[fd: number, iov: number, cnt: number, off: number]>(
  'long preadv(int fd, uintptr_t iov, int cnt, int64_t off)',
)
/** `pwritev(2)` with the iovec array by address. */
export const pwritevAt = fn<[fd: number, iov: number, cnt: number, off: number]>(
  'long pwritev(int fd, uintptr_t iov, int cnt, int64_t off)',
)
/** `fsync(2)`. */
export const fsync = fn<[fd: number]>('int fsync(int fd)')
/** `fdatasync(2)`. */
export const fdatasync = fn<[fd: number]>('int fdatasync(int fd)')
/** `openat(2)` with a NUL-terminated path by address. */
export const openatAt = fn<[dirfd: number, path: number, flags: number, mode: number]>(
  'int openat(int dirfd, uintptr_t path, int flags, uint32_t mode)',
)

/**
 * `splice(2)` with the offsets by address (0: no offset, as for a pipe).
 * `SPLICE_F_*` flags; `SPLICE_F_NONBLOCK` makes the pipe sides non-blocking
 * for this call only, whatever the descriptions' O_NONBLOCK says.
 */
export const spliceAt = fn<[fdIn: number, offIn: number, fdOut: number, offOut: number, len: number, flags: number]>(
  'long splice(int fd_in, uintptr_t off_in, int fd_out, uintptr_t off_out, size_t len, unsigned int flags)',
)

// ---- descriptors ----
/** `epoll_create1(2)`: for the pollability probe. */
export const epollCreate1 = fn<[flags: number]>('int epoll_create1(int flags)')
/** `epoll_ctl(2)`; `ev` is a `struct epoll_event` Buffer. */
export const epollCtl = fn<[epfd: number, op: number, fd: number, ev: B | null]>('int epoll_ctl(int epfd, int op, int fd, void *ev)')

/** A raw syscall result as the kernel convention: `>= 0` as is, else `-errno`. */
export function result(r: number): number {
  return r < 0 ? -errno() : r
}

const epollWaitFn = lib.func('int epoll_wait(int epfd, void *events, int maxevents, int timeout)') as (
  epfd: number,
  events: Uint8Array,
  max: number,
  timeout: number,
) => number
/** `epoll_wait(2)` with no wait: the number of events written to `events`, or 0 on error. */
export function epollWait(epfd: number, events: Uint8Array, max: number, timeout: number): number {
  const n = epollWaitFn(epfd, events, max, timeout)
  return n < 0 ? 0 : n
}
