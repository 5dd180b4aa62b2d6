/**
 * Real fds for core's queue tests, made the way each backend's own sockets
 * are: blocking for io_uring (the kernel arms its own poll), non-blocking for
 * the poll backend's reactor; and seeded random bytes.
 */
import * as sys from '../../src/poll/sys.js'
import { lib } from '../../src/sys/libc.js'
import { rng } from '../../../../test/helpers/prng.js'

/** `socketpair(2)` (tests only: ringio itself never makes one); `sv` is an 8-byte Buffer receiving two ints. */
export const socketpair = lib.func('int socketpair(int domain, int type, int protocol, void *sv)') as (
  domain: number,
  type: number,
  protocol: number,
  sv: Uint8Array,
) => number
/** `pipe2(2)` (tests only); `fds` is an 8-byte Buffer receiving two ints. */
export const pipe2 = lib.func('int pipe2(void *fds, int flags)') as (fds: Uint8Array, flags: number) => number

/** The backend the vitest project selected. */
export const BACKEND: 'uring' | 'poll' = process.env['RINGIO_BACKEND'] === 'poll' ? 'poll' : 'uring'
const NB = BACKEND === 'poll' ? sys.SOCK_NONBLOCK : 0
const AF_UNIX = 1

/** A Unix socketpair of `type` (SOCK_STREAM 1, SOCK_SEQPACKET 5); both fds are pushed onto `track` for the caller's cleanup. */
export function socketPair(type: number, track: number[]): [number, number] {
  const sv = Buffer.alloc(8)
  if (socketpair(AF_UNIX, type | sys.SOCK_CLOEXEC | NB, 0, sv) !== 0) throw new Error(`socketpair failed: errno ${sys.errno()}`)
  const pair: [number, number] = [sv.readInt32LE(0), sv.readInt32LE(4)]
  track.push(...pair)
  return pair
}

/** A pipe `[read, write]`, tracked like {@link socketPair}. */
export function pipePair(track: number[]): [number, number] {
  const fds = Buffer.alloc(8)
  if (pipe2(fds, sys.O_CLOEXEC | (BACKEND === 'poll' ? sys.O_NONBLOCK : 0)) !== 0) throw new Error(`pipe2 failed: errno ${sys.errno()}`)
  const pair: [number, number] = [fds.readInt32LE(0), fds.readInt32LE(4)]
  track.push(...pair)
  return pair
}

/** `n` seeded random bytes. */
export function bytes(n: number, seed: number): Buffer {
  const r = rng(seed)
  const b = Buffer.allocUnsafe(n)
  for (let i = 0; i < n; i++) b[i] = (r() * 256) | 0
  return b
}
