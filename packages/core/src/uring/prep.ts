/**
 * SQE preparation, liburing style: one {@link prepRw} core that writes every
 * word of the 64-byte SQE (so no separate zeroing pass), and small setters for
 * the op-specific fields. Words are 32-bit little-endian; 64-bit fields are
 * written as two halves (addresses fit in 47 bits, offsets in 53).
 *
 * @packageDocumentation
 */
import { SQE } from './abi.js'

const TWO32 = 2 ** 32
// 32-bit word indexes of the SQE fields (see abi.ts for byte offsets).
const W_OPCODE = SQE.opcode >> 2 // opcode | flags << 8 | ioprio << 16
const W_FD = SQE.fd >> 2
const W_OFF = SQE.off >> 2
const W_ADDR = SQE.addr >> 2
const W_LEN = SQE.len >> 2
const W_OPFLAGS = SQE.op_flags >> 2
const W_USER = SQE.user_data >> 2
const W_BUFIDX = SQE.buf_index >> 2 // buf_index | personality << 16
const W_FILEIDX = SQE.file_index >> 2
const W_ADDR3 = SQE.addr3 >> 2

/**
 * Fills SQE `w` (its first word index) for `op` on `fd`: `addr`/`len`/`off`
 * as the kernel reads them for read/write-like operations. `off` -1 is the
 * kernel's "use the file position" (all ones). Every other field is zeroed.
 */
export function prepRw(sqe: Uint32Array, w: number, op: number, fd: number, addr: number, len: number, off: number): void {
  sqe[w + W_OPCODE] = op
  sqe[w + W_FD] = fd
  set64(sqe, w + W_OFF, off)
  sqe[w + W_ADDR] = addr % TWO32
  sqe[w + W_ADDR + 1] = (addr / TWO32) >>> 0
  sqe[w + W_LEN] = len
  sqe[w + W_OPFLAGS] = 0
  sqe[w + W_BUFIDX] = 0
  sqe[w + W_FILEIDX] = 0
  sqe[w + W_ADDR3] = 0
  sqe[w + W_ADDR3 + 1] = 0
  sqe[w + W_ADDR3 + 2] = 0
  sqe[w + W_ADDR3 + 3] = 0
}

/** Sets `user_data` to (slot, gen): the slot in the low word, the generation in the high word. */
export function setUserData(sqe: Uint32Array, w: number, slot: number, gen: number): void {
  sqe[w + W_USER] = slot
  sqe[w + W_USER + 1] = gen
}

/** Sets `sqe.flags` (IOSQE_*) and `sqe.ioprio` (accept/recv/send flags), keeping the opcode. */
export function setFlags(sqe: Uint32Array, w: number, sqeFlags: number, ioprio: number): void {
  sqe[w + W_OPCODE] = (sqe[w + W_OPCODE]! & 0xff) | (sqeFlags << 8) | (ioprio << 16)
}

/** Sets the op-specific 32-bit flags word (`rw_flags`, `msg_flags`, `timeout_flags`, `accept_flags`, …). */
export function setOpFlags(sqe: Uint32Array, w: number, flags: number): void {
  sqe[w + W_OPFLAGS] = flags
}

/** Sets `buf_group` (for IOSQE_BUFFER_SELECT). */
export function setBufGroup(sqe: Uint32Array, w: number, bgid: number): void {
  sqe[w + W_BUFIDX] = bgid & 0xffff
}

/** Sets `addr` to a 64-bit user_data (for ASYNC_CANCEL / TIMEOUT_REMOVE targets). */
export function setAddrUserData(sqe: Uint32Array, w: number, slot: number, gen: number): void {
  sqe[w + W_ADDR] = slot
  sqe[w + W_ADDR + 1] = gen
}

/** Sets `addr` to a 64-bit offset; -1 is the kernel's "no offset" (all ones), as `splice_off_in` takes it. */
export function setAddrOffset(sqe: Uint32Array, w: number, off: number): void {
  set64(sqe, w + W_ADDR, off)
}

/** Writes a 64-bit offset at word `at`: -1 (any negative) as all ones, the kernel's "no offset". */
function set64(sqe: Uint32Array, at: number, off: number): void {
  if (off < 0) {
    sqe[at] = 0xffffffff
    sqe[at + 1] = 0xffffffff
  } else {
    sqe[at] = off % TWO32
    sqe[at + 1] = (off / TWO32) >>> 0
  }
}

/** Sets the `file_index` word, which SPLICE reads as `splice_fd_in`. */
export function setFileIndex(sqe: Uint32Array, w: number, value: number): void {
  sqe[w + W_FILEIDX] = value
}

/** Copies a whole 64-byte SQE image (the raw op); `user_data` is set afterwards by the caller. */
export function copySqe(sqe: Uint32Array, w: number, image: Uint8Array): void {
  for (let i = 0; i < 16; i++) {
    const b = i * 4
    sqe[w + i] = (image[b]! | (image[b + 1]! << 8) | (image[b + 2]! << 16) | (image[b + 3]! << 24)) >>> 0
  }
}
