/**
 * The libc calls `@ringio/fs` alone needs: aligned allocation
 * (`posix_memalign`/`free`; huge-page regions come from core's `HugeRegion`).
 * Everything else it calls in libc (`statx`, `ftruncate`, `fallocate`,
 * `munmap`, a Buffer's address) is bound once in core and imported from
 * `@ringio/core` (`libc`, `addressOf`). Declared through koffi with a fixed
 * prototype.
 *
 * @packageDocumentation
 */
import koffi from 'koffi'

const lib = koffi.load('libc.so.6')

/** `posix_memalign(&p, alignment, size)`: `out` is an 8-byte Buffer that receives the pointer. */
export const posixMemalign = lib.func('int posix_memalign(void *out, size_t alignment, size_t size)') as (
  out: Uint8Array,
  alignment: number,
  size: number,
) => number
/** `free(p)`, with `p` an address as a Number. */
export const free = lib.func('void free(uintptr_t p)') as (p: number) => void

/** `AT_EMPTY_PATH`: `statx` on the fd itself. */
export const AT_EMPTY_PATH = 0x1000
