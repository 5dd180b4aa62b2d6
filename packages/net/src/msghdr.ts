/**
 * `struct msghdr` and `struct iovec` for SENDMSG/RECVMSG, laid out for
 * x86-64 / aarch64 Linux (LP64), with raw addresses taken by core's
 * `addressOf` (net never loads koffi itself).
 *
 * ```
 * struct msghdr {               offset
 *   void         *msg_name;        0
 *   socklen_t     msg_namelen;     8  (+4 pad)
 *   struct iovec *msg_iov;        16
 *   size_t        msg_iovlen;     24
 *   void         *msg_control;    32
 *   size_t        msg_controllen; 40
 *   int           msg_flags;      48  (+4 pad)
 * };                              56
 * struct iovec { void *iov_base; size_t iov_len; }   16
 * ```
 * The kernel dereferences these addresses when the operation runs, so every
 * Buffer they point into must stay alive until the completion: callers pass
 * the objects returned in `keep` to the proactor.
 *
 * @packageDocumentation
 */
import { addressOf, allocChunk } from '@ringio/core/transport'

/** `sizeof(struct msghdr)`. */
export const MSGHDR_SIZE = 56
/** `sizeof(struct iovec)`. */
export const IOVEC_SIZE = 16
/** Set in `msg_flags` when the datagram was longer than the buffer (recvmsg(2)). */
export const MSG_TRUNC = 0x20
/** Set in `msg_flags` when control data was cut (the control buffer was too small). */
export const MSG_CTRUNC = 0x08
/** `send` flag: no SIGPIPE on a closed peer, `EPIPE` instead. */
export const MSG_NOSIGNAL = 0x4000
/** `sizeof(struct sockaddr_storage)`: room for any address. */
export const SOCKADDR_STORAGE = 128

const TWO32 = 2 ** 32

/** Writes a 64-bit pointer/size as two u32 halves (addresses are below 2^47: exact as Numbers). */
export function writeU64(b: Buffer, value: number, at: number): void {
  b.writeUInt32LE(value % TWO32, at)
  b.writeUInt32LE(Math.floor(value / TWO32), at + 4)
}

function ptr(b: Uint8Array | null): number {
  return b === null || b.length === 0 ? 0 : addressOf(b)
}

/** What a message header points to. */
export interface MsgParts {
  /** The peer address (`sockaddr`), or null on a connected socket. */
  name: Uint8Array | null
  /** The payload, in order (gathered into one message). */
  iov: readonly Uint8Array[]
  /** Ancillary data (`cmsghdr`s), or null. */
  control: Uint8Array | null
}

/**
 * Encodes a msghdr (and its iovec array) for `parts` into fresh Buffers.
 * @returns the header, and `keep`: everything the kernel will dereference
 */
export function encodeMsghdr(parts: MsgParts): { msg: Buffer; keep: unknown[] } {
  const msg = Buffer.alloc(MSGHDR_SIZE)
  const iov = Buffer.alloc(Math.max(1, parts.iov.length) * IOVEC_SIZE)
  fillIovec(iov, parts.iov)
  writeU64(msg, ptr(parts.name), 0)
  msg.writeUInt32LE(parts.name === null ? 0 : parts.name.length, 8)
  writeU64(msg, ptr(iov), 16)
  writeU64(msg, parts.iov.length, 24)
  writeU64(msg, ptr(parts.control), 32)
  writeU64(msg, parts.control === null ? 0 : parts.control.length, 40)
  return { msg, keep: [iov, parts.name, parts.control, parts.iov] }
}

function fillIovec(iov: Buffer, bufs: readonly Uint8Array[]): void {
  for (let i = 0; i < bufs.length; i++) {
    const b = bufs[i]!
    writeU64(iov, ptr(b), i * IOVEC_SIZE)
    writeU64(iov, b.length, i * IOVEC_SIZE + 8)
  }
}

/**
 * The msghdr of a multishot RECVMSG (`Proactor.recvmsgMultishot`): no
 * pointers, no iovec, only the room to reserve in each pool buffer for the
 * source address (`nameSpace`) and control data (`controlSpace`).
 */
export function multishotMsghdr(nameSpace: number, controlSpace: number): Buffer {
  const msg = Buffer.alloc(MSGHDR_SIZE)
  msg.writeUInt32LE(nameSpace, 8)
  writeU64(msg, controlSpace, 40)
  return msg
}

/**
 * A reusable receive header: one data buffer, room for the sender's address
 * and an optional control buffer. One receive at a time; call {@link reset}
 * before each (the kernel overwrites `msg_namelen`, `msg_controllen` and
 * `msg_flags`).
 */
export class RecvHeader {
  /** The header passed to RECVMSG. */
  readonly msg = Buffer.alloc(MSGHDR_SIZE)
  /** Where the payload lands. */
  readonly data: Buffer
  /** Where the sender's address lands. */
  readonly name = Buffer.alloc(SOCKADDR_STORAGE)
  /** Where ancillary data lands (empty when none was asked for). */
  readonly control: Buffer
  /** Objects the kernel dereferences: pass as `keep`. */
  readonly keep: unknown[]
  private readonly iov = Buffer.alloc(IOVEC_SIZE)

  /**
   * @param capacity payload bytes per receive
   * @param controlSize ancillary bytes per receive (0: none)
   */
  constructor(capacity: number, controlSize = 0) {
    // At least one byte: a zero-length iovec would still report MSG_TRUNC correctly,
    // but a real buffer keeps addressOf away from empty views.
    this.data = Buffer.alloc(Math.max(1, capacity))
    this.control = Buffer.alloc(controlSize)
    fillIovec(this.iov, [this.data.subarray(0, capacity)])
    writeU64(this.msg, ptr(this.name), 0)
    writeU64(this.msg, ptr(this.iov), 16)
    writeU64(this.msg, 1, 24)
    writeU64(this.msg, ptr(this.control), 32)
    this.keep = [this.iov, this.data, this.name, this.control]
    this.reset()
  }

  /** Restores the in/out fields before a receive. */
  reset(): void {
    this.msg.writeUInt32LE(SOCKADDR_STORAGE, 8)
    writeU64(this.msg, this.control.length, 40)
    this.msg.writeUInt32LE(0, 48)
  }

  /** `msg_flags` after a receive (`MSG_TRUNC`, `MSG_CTRUNC`…). */
  get flags(): number {
    return this.msg.readUInt32LE(48)
  }

  /** The sender's address as written by the kernel (empty on a connected socket that reports none). */
  get sender(): Buffer {
    return this.name.subarray(0, Math.min(SOCKADDR_STORAGE, this.msg.readUInt32LE(8)))
  }

  /** Bytes of ancillary data the kernel wrote. */
  get controlLength(): number {
    return this.msg.readUInt32LE(40)
  }
}

/**
 * A reusable send header for a queue with one send in flight: points at one
 * payload and an optional address. Re-point it with {@link set} only after the
 * previous send completed.
 */
export class SendHeader {
  /**
   * The header passed to SENDMSG. Header and iovec are carved from core's
   * slabs, like the payloads: a window of headers shares the backing store
   * whose address the proactor already knows (no koffi lookup per send).
   */
  readonly msg = allocChunk(MSGHDR_SIZE).fill(0)
  private readonly iov = allocChunk(IOVEC_SIZE).fill(0)

  constructor() {
    writeU64(this.msg, ptr(this.iov), 16)
    writeU64(this.msg, 1, 24)
  }

  /**
   * Points the header at `data`, sent to `name` (null: the connected peer),
   * with optional ancillary `control` data.
   * @returns what the kernel dereferences: pass as `keep`
   */
  set(data: Uint8Array, name: Uint8Array | null, control: Uint8Array | null = null): unknown[] {
    writeU64(this.iov, ptr(data), 0)
    writeU64(this.iov, data.length, 8)
    writeU64(this.msg, ptr(name), 0)
    this.msg.writeUInt32LE(name === null ? 0 : name.length, 8)
    writeU64(this.msg, ptr(control), 32)
    writeU64(this.msg, control === null ? 0 : control.length, 40)
    return [this.iov, data, name, control]
  }
}
