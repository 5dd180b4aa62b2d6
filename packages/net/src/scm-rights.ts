/**
 * Passing file descriptors over a Unix socket (SCM_RIGHTS, unix(7)): the
 * control message that carries them, and the registry that ties the
 * descriptors received with a message to that message.
 *
 * ```
 * struct cmsghdr {          offset
 *   size_t cmsg_len;           0   CMSG_LEN(n) = 16 + n
 *   int    cmsg_level;         8   SOL_SOCKET
 *   int    cmsg_type;         12   SCM_RIGHTS (1) / SCM_CREDENTIALS (2)
 *   unsigned char data[];     16
 * };                              each padded to CMSG_ALIGN (8)
 * ```
 *
 * @packageDocumentation
 */
import { SCM_RIGHTS, SOL_SOCKET } from './constants.js'
import { writeU64 } from './msghdr.js'

const CMSG_HDR = 16
/** The kernel's limit of descriptors in one SCM_RIGHTS message (`SCM_MAX_FD`). */
export const SCM_MAX_FD = 253
/** `recvmsg` flag: descriptors received are close-on-exec. */
export const MSG_CMSG_CLOEXEC = 0x40000000

const align = (n: number): number => (n + 7) & ~7

/** `CMSG_SPACE(4 * count)`: the control room one SCM_RIGHTS message of `count` descriptors takes. */
export function rightsSpace(count: number): number {
  return count === 0 ? 0 : CMSG_HDR + align(4 * count)
}

/**
 * Checks `fds` at the call site: a non-empty array of at most
 * {@link SCM_MAX_FD} non-negative integer descriptors.
 * @throws TypeError / RangeError naming the bad element
 */
export function checkFds(fds: unknown): readonly number[] {
  if (!Array.isArray(fds)) throw new TypeError('fds must be an array of file descriptors')
  if (fds.length === 0 || fds.length > SCM_MAX_FD) throw new RangeError(`fds must hold 1..${SCM_MAX_FD} descriptors, got ${fds.length}`)
  fds.forEach((fd, i) => {
    if (!Number.isInteger(fd) || (fd as number) < 0 || (fd as number) > 0x7fffffff) throw new TypeError(`fds[${i}] must be a file descriptor (a non-negative integer), got ${String(fd)}`)
  })
  return fds as number[]
}

/** The control data of one SCM_RIGHTS message carrying `fds`. */
export function encodeRights(fds: readonly number[]): Buffer {
  const b = Buffer.alloc(rightsSpace(fds.length))
  writeU64(b, CMSG_HDR + 4 * fds.length, 0)
  b.writeInt32LE(SOL_SOCKET, 8)
  b.writeInt32LE(SCM_RIGHTS, 12)
  fds.forEach((fd, i) => b.writeInt32LE(fd, CMSG_HDR + 4 * i))
  return b
}

/**
 * The descriptors in the SCM_RIGHTS messages of `control[at, at + len)`
 * (other control messages, e.g. credentials, are skipped). Empty when none.
 */
export function decodeRights(control: Uint8Array, at: number, len: number): number[] {
  const fds: number[] = []
  const dv = new DataView(control.buffer, control.byteOffset, control.byteLength)
  const end = at + len
  for (let off = at; off + CMSG_HDR <= end; ) {
    const cmsgLen = dv.getUint32(off, true) // the high half of a sane size_t is 0
    if (cmsgLen < CMSG_HDR || off + cmsgLen > end) break
    if (dv.getInt32(off + 8, true) === SOL_SOCKET && dv.getInt32(off + 12, true) === SCM_RIGHTS) {
      for (let p = off + CMSG_HDR; p + 4 <= off + cmsgLen; p += 4) fds.push(dv.getInt32(p, true))
    }
    off += align(cmsgLen)
  }
  return fds
}

const received = new WeakMap<Buffer, number[]>()

/** Ties `fds` to the message `msg` they arrived with (see {@link receivedFds}). */
export function attachFds(msg: Buffer, fds: number[]): void {
  received.set(msg, fds)
}

/**
 * The descriptors that arrived with `msg` on a channel opened with
 * `maxFds` (SCM_RIGHTS), in the order the sender listed them; empty when
 * none. They are yours: close-on-exec, open in this process, and to be closed
 * by you (e.g. `fs.closeSync`). Asking twice gives the same list.
 *
 * ## Example
 * ```ts
 * const ch = await seqpacket.connect({ path: '\0broker', maxFds: 4 })
 * ch.messages$.subscribe((m) => {
 *   const [fd] = receivedFds(m)
 *   if (fd !== undefined) fs.writeSync(fd, 'hello through a passed descriptor\n')
 * })
 * ```
 */
export function receivedFds(msg: Buffer): readonly number[] {
  return received.get(msg) ?? []
}
