/**
 * libc for the poll backend, through koffi: each call declared once with a
 * fixed prototype. Synchronous calls take Buffers as `void *` (koffi passes
 * the backing store, no copy). Threadpool calls (`*.async`) take raw
 * addresses as `uintptr_t` Numbers instead, so there is no doubt that the
 * worker thread touches the caller's own memory (kept alive in the op's slot)
 * and not a marshalled copy.
 *
 * Nothing here ever calls `fcntl(F_SETFL)`: the only fcntl is F_GETFL
 * (DESIGN.md principle 3 — never change state we don't own).
 *
 * @packageDocumentation
 */
import koffi from 'koffi'

const lib = koffi.load('libc.so.6')

/** A koffi function callable synchronously or on the threadpool via `.async(...args, cb)`. */
export type AsyncFn<A extends unknown[]> = ((...args: A) => number) & {
  async: (...args: [...A, (err: unknown, res: number) => void]) => void
}

type B = Uint8Array
const fn = <A extends unknown[]>(proto: string): AsyncFn<A> => lib.func(proto) as unknown as AsyncFn<A>

// ---- errno values (Linux) the backend synthesises or branches on ----
/** `EINTR`. */
export const EINTR = 4
/** `EFAULT`. */
export const EFAULT = 14
/** `EAGAIN` (== `EWOULDBLOCK` on Linux). */
export const EAGAIN = 11
/** `EINVAL`. */
export const EINVAL = 22
/** `EPERM`: what epoll answers for regular files and other non-pollable fds. */
export const EPERM = 1
/** `ETIME`: what a fired timeout completes with. */
export const ETIME = 62
/** `ENOBUFS`: the buffer group ran dry. */
export const ENOBUFS = 105
/** `EINPROGRESS`: a non-blocking connect started. */
export const EINPROGRESS = 115
/** `ECANCELED`. */
export const ECANCELED = 125

// ---- flags ----
/** `SOCK_NONBLOCK` (== `O_NONBLOCK`). */
export const SOCK_NONBLOCK = 0x800
/** `SOCK_CLOEXEC` (== `O_CLOEXEC`). */
export const SOCK_CLOEXEC = 0x80000
/** `O_NONBLOCK`. */
export const O_NONBLOCK = 0x800
/** `O_CLOEXEC`. */
export const O_CLOEXEC = 0x80000
/** `F_GETFL`. */
export const F_GETFL = 3
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
/** `socket(2)`. */
export const socket = fn<[domain: number, type: number, protocol: number]>('int socket(int domain, int type, int protocol)')
/** `socketpair(2)`; `sv` is an 8-byte Buffer receiving two ints. */
export const socketpair = fn<[domain: number, type: number, protocol: number, sv: B]>(
  'int socketpair(int domain, int type, int protocol, void *sv)',
)
/** `bind(2)`. */
export const bind = fn<[fd: number, addr: B, len: number]>('int bind(int fd, void *addr, uint32_t len)')
/** `listen(2)`. */
export const listen = fn<[fd: number, backlog: number]>('int listen(int fd, int backlog)')
/** `getsockname(2)`; `len` is a 4-byte Buffer holding the socklen_t. */
export const getsockname = fn<[fd: number, addr: B, len: B]>('int getsockname(int fd, void *addr, void *len)')
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
/** `shutdown(2)`. */
export const shutdown = fn<[fd: number, how: number]>('int shutdown(int fd, int how)')
/** `getsockopt(2)`; `len` is a 4-byte Buffer holding the socklen_t. */
export const getsockopt = fn<[fd: number, level: number, name: number, val: B, len: B]>(
  'int getsockopt(int fd, int level, int name, void *val, void *len)',
)

// ---- plain I/O, synchronous (non-blocking fds) ----
/** `read(2)` into a Buffer. */
export const read = fn<[fd: number, buf: B, len: number]>('long read(int fd, void *buf, size_t len)')
/** `write(2)` from a Buffer. */
export const write = fn<[fd: number, buf: B, len: number]>('long write(int fd, void *buf, size_t len)')
/** `pread(2)` into a Buffer. */
export const pread = fn<[fd: number, buf: B, len: number, off: number]>('long pread(int fd, void *buf, size_t len, int64_t off)')
/** `pwrite(2)` from a Buffer. */
export const pwrite = fn<[fd: number, buf: B, len: number, off: number]>('long pwrite(int fd, void *buf, size_t len, int64_t off)')
/** `readv(2)`; `iov` is an array of `struct iovec`. */
export const readv = fn<[fd: number, iov: B, cnt: number]>('long readv(int fd, void *iov, int cnt)')
/** `writev(2)`. */
export const writev = fn<[fd: number, iov: B, cnt: number]>('long writev(int fd, void *iov, int cnt)')
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
/** `statx(2)` with the NUL-terminated path and the `struct statx` buffer by address. */
export const statxAt = fn<[dirfd: number, path: number, flags: number, mask: number, buf: number]>(
  'int statx(int dirfd, uintptr_t path, int flags, uint32_t mask, uintptr_t buf)',
)
/** `fallocate(2)`. */
export const fallocate = fn<[fd: number, mode: number, offset: number, len: number]>(
  'int fallocate(int fd, int mode, int64_t offset, int64_t len)',
)
/** `ftruncate(2)`. */
export const ftruncate = fn<[fd: number, length: number]>('int ftruncate(int fd, int64_t length)')

// ---- descriptors ----
/** `close(2)`. */
export const close = fn<[fd: number]>('int close(int fd)')
/** `pipe2(2)`; `fds` is an 8-byte Buffer receiving two ints. */
export const pipe2 = fn<[fds: B, flags: number]>('int pipe2(void *fds, int flags)')
/** `fcntl(fd, F_GETFL, 0)`. Reading flags only: F_SETFL is never bound here. */
export const fcntlGet = fn<[fd: number, cmd: number, arg: number]>('int fcntl(int fd, int cmd, int arg)')
/** `epoll_create1(2)`: for the pollability probe. */
export const epollCreate1 = fn<[flags: number]>('int epoll_create1(int flags)')
/** `epoll_ctl(2)`; `ev` is a `struct epoll_event` Buffer. */
export const epollCtl = fn<[epfd: number, op: number, fd: number, ev: B | null]>('int epoll_ctl(int epfd, int op, int fd, void *ev)')

/** `errno` after the last koffi call on this thread (inside an `.async` callback: the worker's errno). */
export function errno(): number {
  return koffi.errno()
}

/** A raw syscall result as the kernel convention: `>= 0` as is, else `-errno`. */
export function result(r: number): number {
  return r < 0 ? -koffi.errno() : r
}

/** Whether `fd`'s open file description has O_NONBLOCK set (`-errno` when fcntl fails). Reads only. */
export function nonBlocking(fd: number): boolean | number {
  const fl = fcntlGet(fd, F_GETFL, 0)
  if (fl < 0) return -koffi.errno()
  return (fl & O_NONBLOCK) !== 0
}

const pollFn = lib.func('int poll(void *fds, unsigned long nfds, int timeout)') as (fds: Uint8Array, n: number, timeout: number) => number
const pollfd = Buffer.alloc(8)
/** `poll(2)` on one fd with no wait: the revents now (0 when not ready), or `-errno`. Reads no flags, changes nothing. */
export function pollNow(fd: number, events: number): number {
  pollfd.writeInt32LE(fd, 0)
  pollfd.writeInt16LE(events, 4)
  pollfd.writeInt16LE(0, 6)
  const r = pollFn(pollfd, 1, 0)
  return r < 0 ? -errno() : r === 0 ? 0 : pollfd.readUInt16LE(6)
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
