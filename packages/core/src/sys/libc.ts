/**
 * libc through koffi: the few system calls Node does not give us, declared once
 * each with a fixed prototype (faster than koffi's variadic form, and safe for
 * glibc's x86-64 `syscall`). Both backends use these; nothing here is io_uring
 * specific except the three `io_uring_*` syscall shapes. Each libc function has
 * one binding per prototype in core: the general ones here, the socket ones
 * in `socket.ts`, the poll backend's own in `poll/sys.ts`.
 *
 * Pointers cross as Numbers (`uintptr_t`): user-space addresses fit below 2^47,
 * so a Number is exact and allocates nothing, where koffi's pointer type would
 * give a BigInt per call.
 *
 * @packageDocumentation
 */
import koffi from 'koffi'

/** libc, loaded once for every binding in core. */
export const lib = koffi.load('libc.so.6')

/** A koffi function callable synchronously or on the threadpool via `.async(...args, cb)`. */
export type AsyncFn<A extends unknown[]> = ((...args: A) => number) & {
  /** The same call on libuv's threadpool: `cb(err, result)` on the JS thread (run it through `threadpoolCall`). */
  async: (...args: [...A, (err: unknown, res: number) => void]) => void
}

/** Binds `proto` (a C prototype) as an {@link AsyncFn}. */
export const fn = <A extends unknown[]>(proto: string): AsyncFn<A> => lib.func(proto) as unknown as AsyncFn<A>

/** `syscall(nr, a, b)`: io_uring_setup(entries, params). */
export const sys2 = lib.func('long syscall(long nr, uint32_t a, void *b)') as (nr: number, a: number, b: Uint8Array) => number
/** `syscall(nr, fd, toSubmit, minComplete, flags, sig, sigsz)`: io_uring_enter. */
export const sys6 = lib.func(
  'long syscall(long nr, int fd, uint32_t to_submit, uint32_t min_complete, uint32_t flags, uintptr_t sig, size_t sz)',
) as (nr: number, fd: number, toSubmit: number, minComplete: number, flags: number, sig: number, sz: number) => number
/** `syscall(nr, fd, opcode, arg, nr_args)`: io_uring_register with a Buffer argument. */
export const sys4buf = lib.func('long syscall(long nr, int fd, uint32_t opcode, void *arg, uint32_t nr_args)') as (
  nr: number,
  fd: number,
  opcode: number,
  arg: Uint8Array | null,
  nrArgs: number,
) => number

/** `mmap(2)`; returns `MAP_FAILED` (2^64-1, which reads back as a Number >= 2^53) on failure. */
export const mmap = lib.func('uintptr_t mmap(uintptr_t addr, size_t len, int prot, int flags, int fd, int64_t off)') as (
  addr: number,
  len: number,
  prot: number,
  flags: number,
  fd: number,
  off: number,
) => number
/** `munmap(2)`. */
export const munmap = lib.func('int munmap(uintptr_t addr, size_t len)') as (addr: number, len: number) => number
/** `madvise(2)`. */
export const madvise = lib.func('int madvise(uintptr_t addr, size_t len, int advice)') as (addr: number, len: number, advice: number) => number
/** `close(2)`. */
export const close = fn<[fd: number]>('int close(int fd)')
/** `eventfd(2)`. */
export const eventfd = lib.func('int eventfd(uint32_t initval, int flags)') as (initval: number, flags: number) => number
/** `read(2)` into a Buffer (blocking semantics depend on the fd). */
export const read = fn<[fd: number, buf: Uint8Array, len: number]>('long read(int fd, void *buf, size_t len)')

// `memmove(p, p, 0)` returns `p`: the cheapest way to learn a Buffer's address
// as a Number. koffi.address() gives a BigInt, and this is ~2x faster.
const memmoveAddr = lib.func('uintptr_t memmove(void *dst, void *src, size_t n)') as (
  a: ArrayBufferView | ArrayBuffer,
  b: ArrayBufferView | ArrayBuffer,
  n: number,
) => number

// A few recently used backing stores and their base addresses, replaced round
// robin. Many Buffers share one ArrayBuffer (Node's 8 KiB pool, our slabs and
// buffer rings), and one send touches several: a UDP datagram's payload (a
// slab), its peer's sockaddr and its msghdr — more than two would thrash.
const CACHE = 4
const cacheAb: (ArrayBufferLike | null)[] = [null, null, null, null]
const cacheBase = [0, 0, 0, 0]
let cacheNext = 0

/**
 * The address of `view`'s first byte, as a Number. The backing store of a
 * Node Buffer / ArrayBuffer never moves once koffi has materialised it, so the
 * address stays valid for as long as the caller keeps `view` alive — which the
 * proactor does, in the operation's slot, until the completion arrives.
 */
export function addressOf(view: Uint8Array): number {
  const ab = view.buffer
  if (ab === cacheAb[0]) return cacheBase[0]! + view.byteOffset
  if (ab === cacheAb[1]) return cacheBase[1]! + view.byteOffset
  if (ab === cacheAb[2]) return cacheBase[2]! + view.byteOffset
  if (ab === cacheAb[3]) return cacheBase[3]! + view.byteOffset
  const base = memmoveAddr(ab as ArrayBuffer, ab as ArrayBuffer, 0)
  cacheAb[cacheNext] = ab
  cacheBase[cacheNext] = base
  cacheNext = (cacheNext + 1) % CACHE
  return base + view.byteOffset
}

/** The calling thread's `errno` after the last koffi call. */
export function errno(): number {
  return koffi.errno()
}

/** A view of `len` bytes of native memory at `addr`, with no copy. Never touch it after the memory is unmapped. */
export function view(addr: number, len: number): ArrayBuffer {
  return koffi.view(addr as unknown as bigint, len) as ArrayBuffer
}

const PROT_READ = 1
const PROT_WRITE = 2
const MAP_SHARED = 0x01
const MAP_PRIVATE = 0x02
const MAP_ANONYMOUS = 0x20
const MAP_POPULATE = 0x8000
/** mmap returns `(void *)-1` on failure: read as a Number it is at or above 2^53. */
export const MAP_FAILED_MIN = 2 ** 53

/** Map `len` bytes of `fd` at `offset`, shared with the kernel (io_uring rings). Returns the address or throws with errno. */
export function mmapShared(fd: number, len: number, offset: number): number {
  const p = mmap(0, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, offset)
  return p >= MAP_FAILED_MIN ? -errno() : p
}

/** Map `len` bytes of anonymous, page-aligned, zeroed memory. Returns the address or `-errno`. */
export function mmapAnonymous(len: number): number {
  const p = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
  return p >= MAP_FAILED_MIN ? -errno() : p
}

/** `writev(2)`. */
export const writev = fn<[fd: number, iov: Uint8Array, cnt: number]>('long writev(int fd, void *iov, int cnt)')
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
/** `getsockopt(2)`; `len` is a 4-byte Buffer holding the socklen_t (in: the room in `val`; out: the length). */
export const getsockopt = fn<[fd: number, level: number, name: number, val: Uint8Array, len: Uint8Array]>(
  'int getsockopt(int fd, int level, int name, void *val, void *len)',
)
/** `poll(struct pollfd *, nfds, timeout)`: for a 0-timeout look at fds that are not ours (no flag of theirs changes). */
export const poll = lib.func('int poll(void *fds, unsigned long nfds, int timeout)') as (fds: Uint8Array, nfds: number, timeout: number) => number
/** `sched_yield(2)`: between tries on a full or empty pipe, lets the process at its other end run. */
export const schedYield = lib.func('int sched_yield(void)') as () => number
/** `shutdown(2)`. */
export const shutdown = fn<[fd: number, how: number]>('int shutdown(int fd, int how)')
/** `socket(2)`. */
export const socket = fn<[domain: number, type: number, protocol: number]>('int socket(int domain, int type, int protocol)')
/** `SOCK_CLOEXEC` (== `O_CLOEXEC`): every fd ringio creates is close-on-exec. */
export const SOCK_CLOEXEC = 0x80000
/** `SOCK_NONBLOCK` (== `O_NONBLOCK`). */
export const SOCK_NONBLOCK = 0x800
/** `O_NONBLOCK`. */
export const O_NONBLOCK = 0x800
/** `O_CLOEXEC`. */
export const O_CLOEXEC = 0x80000
/** `EFD_CLOEXEC`, `EFD_NONBLOCK`. */
export const EFD_CLOEXEC = 0x80000
/** @see EFD_CLOEXEC */
export const EFD_NONBLOCK = 0x800
