/**
 * @ringio/core/transport: what a transport builds on — `@ringio/net`,
 * `@ringio/fs` and `@ringio/tty` do, and so can a third party's. The
 * proactor and operations as data (one file per op kind in `ops/`, a `raw`
 * op for any io_uring opcode ringio does not wrap), the Promise bridge
 * `run`, the ordered write queue, the message queue, read-buffer groups,
 * state per Node environment, and libc. Application code wants
 * `@ringio/core`.
 *
 * ## Example
 * ```ts
 * import { getProactor, run, SQE } from '@ringio/core/transport'
 * // IORING_OP_FADVISE (24), which ringio does not wrap, as a raw SQE:
 * // POSIX_FADV_SEQUENTIAL (2) in fadvise_advice, the op-flags word at byte 28.
 * const sqe = Buffer.alloc(SQE.SIZE)
 * sqe[SQE.opcode] = 24
 * sqe.writeInt32LE(fd, SQE.fd)
 * sqe.writeUInt32LE(2, SQE.op_flags)
 * if (getProactor().supports(24)) await run({ kind: 'raw', sqe })
 * ```
 * @packageDocumentation
 */

// The whole user API, so a transport imports from one place
export * from './index.js'

// The proactor and its operations
export type { BufferGroup, Completion, OpId, Proactor, StartOptions } from './proactor.js'
export { getProactor } from './backend.js'
export type * from './ops/op.js'
export { opError } from './ops/op-error.js'
export { run } from './operation.js'

// State shared by every loaded copy (ESM and CJS builds) within one Node environment
export { environmentSingleton } from './environment.js'

// Blocking libc calls on the threadpool, within koffi's shared budget of async calls
export { threadpoolCall, type ThreadpoolCallback } from './threadpool-call.js'

// Kernel constants and layouts the transports share
export { IORING_CQE_BUFFER_SHIFT, IORING_CQE_F_BUFFER, IORING_CQE_F_MORE, RECVMSG_OUT, SQE } from './uring/abi.js'
export { parseRecvmsgOut, type RecvmsgOut } from './recvmsg-out.js'
export { addressOf } from './sys/libc.js'

// Message channels
export { MessageQueue, closedChannelError, type MessageQueueOptions } from './message-queue.js'

// The ordered write queue
export { WriteQueue, type WriteQueueOptions } from './write-queue.js'
export { DEFAULT_COPY_THRESHOLD, ownBytes } from './write-data.js'
export type { WriteSink, WriteSinkOp } from './write-sink.js'

export { allocChunk } from './slab.js'
// Huge-page memory with explicit ownership (staging for vmsplice, O_DIRECT buffers).
export { HUGE_PAGE, HugeRegion, thpPossible } from './huge-region.js'

// Synchronous socket calls (bind, listen, options, names) for transports
export * as sockets from './sys/socket.js'
// libc bindings for transports (fs, tty): each C function bound once, in core; fcntl only as safe helpers
export * as libc from './sys/transport-libc.js'
