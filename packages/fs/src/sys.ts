/**
 * The few libc calls `@ringio/fs` needs that `@ringio/core` does not offer:
 * aligned allocation (huge-page regions come from core's `HugeRegion`) and a
 * Buffer's address; and the threadpool forms of `statx`, `ftruncate`,
 * `fallocate`, for a backend whose kernel lacks the
 * ring op (`supports()` false: IORING_OP_FTRUNCATE is Linux 6.9+). Declared
 * once each through koffi with a fixed prototype; the threadpool forms run
 * through core's `threadpoolCall` (never on the JS thread: a `statx` on NFS
 * or an `ftruncate` that frees many extents can block).
 *
 * @packageDocumentation
 */
import koffi from 'koffi'

const lib = koffi.load('libc.so.6')

type AsyncFn<A extends unknown[]> = ((...args: A) => number) & {
  async: (...args: [...A, (err: unknown, res: number) => void]) => void
}
const fn = <A extends unknown[]>(proto: string): AsyncFn<A> => lib.func(proto) as unknown as AsyncFn<A>

/** `posix_memalign(&p, alignment, size)`: `out` is an 8-byte Buffer that receives the pointer. */
export const posixMemalign = fn<[out: Uint8Array, alignment: number, size: number]>(
  'int posix_memalign(void *out, size_t alignment, size_t size)',
)
/** `munmap(p, len)`. */
export const munmap = lib.func('int munmap(uintptr_t p, size_t len)') as (p: number, len: number) => number
/** `free(p)`, with `p` an address as a Number. */
export const free = lib.func('void free(uintptr_t p)') as (p: number) => void
/** `statx(fd, "", AT_EMPTY_PATH, mask, buf)`: the metadata of an open fd. */
export const statx = fn<[dirfd: number, path: string, flags: number, mask: number, buf: Uint8Array]>(
  'int statx(int dirfd, const char *path, int flags, uint32_t mask, void *buf)',
)
/** `ftruncate(fd, length)`. */
export const ftruncate = fn<[fd: number, length: number]>('int ftruncate(int fd, int64_t length)')
/** `fallocate(fd, mode, offset, length)`. */
export const fallocate = fn<[fd: number, mode: number, offset: number, length: number]>(
  'int fallocate(int fd, int mode, int64_t offset, int64_t length)',
)

// `memmove(p, p, 0)` returns `p`: the cheapest way to learn a Buffer's address
// as a Number (koffi.address() allocates a BigInt).
const memmoveAddr = lib.func('uintptr_t memmove(void *dst, void *src, size_t n)') as (
  a: ArrayBuffer,
  b: ArrayBuffer,
  n: number,
) => number

let lastAb: ArrayBufferLike | null = null
let lastBase = 0

/**
 * The address of `view`'s first byte, as a Number (user-space addresses fit
 * below 2^47, so it is exact). A backing store never moves once allocated, so
 * the address stays right for as long as `view` is alive.
 */
export function addressOf(view: Uint8Array): number {
  const ab = view.buffer
  if (ab === lastAb) return lastBase + view.byteOffset
  lastBase = memmoveAddr(ab as ArrayBuffer, ab as ArrayBuffer, 0)
  lastAb = ab
  return lastBase + view.byteOffset
}

/** An ArrayBuffer over `len` bytes of native memory at `addr`, with no copy. It does not own the memory. */
export function view(addr: number, len: number): ArrayBuffer {
  return koffi.view(addr as unknown as bigint, len) as ArrayBuffer
}

/** `AT_EMPTY_PATH`: `statx` on the fd itself. */
export const AT_EMPTY_PATH = 0x1000
