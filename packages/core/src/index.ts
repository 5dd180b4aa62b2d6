/**
 * @ringio/core: the proactor (io_uring, or a readiness reactor where io_uring
 * is missing), one-shot operations as Promises, timers and readiness as
 * Observables, the shared read-buffer pool and the typed errors.
 *
 * ## Example
 * ```ts
 * import { backend, nop, timer } from '@ringio/core'
 * await nop()                                // one round trip through the ring
 * timer(100).subscribe(() => console.log(`100 ms on ${backend()}`))
 * ```
 * @packageDocumentation
 */

// Errors
export { IoError, abortError } from './errors.js'
// errno numbers (Linux) the packages compare completions with, and their names
export { EAGAIN, EBADF, ECANCELED, EINTR, EINVAL, EIO, ENOSYS, ENOTTY, EPERM, EPIPE, errnoName } from './sys/errno.js'

// The proactor and its backends
export type { BackendName, BufferGroup, Completion, OpId, OpName, Proactor, StartOptions } from './proactor.js'
export { backend, backendFallbackReason, closeProactor, configure, getProactor, type ProactorOptions } from './backend.js'
// State shared by every loaded copy (ESM and CJS builds) within one Node environment
export { environmentSingleton } from './environment.js'
export { run, startOpts, type OperationOptions } from './operation.js'

// One-shot fd operations
export { close, fsync, nop, openat, read, readv, write, writev } from './fd-io.js'

// Blocking libc calls on the threadpool, within koffi's shared budget of async calls
export { threadpoolCall, type ThreadpoolCallback } from './threadpool-call.js'

// Observables
export { interval, timer } from './timers.js'
export { poll, PollEvents } from './readiness-observable.js'

// Kernel constants the other packages share
export { IORING_CQE_BUFFER_SHIFT, IORING_CQE_F_BUFFER, IORING_CQE_F_MORE, RECVMSG_OUT } from './uring/abi.js'
export { parseRecvmsgOut, type RecvmsgOut } from './recvmsg-out.js'
export { addressOf } from './sys/libc.js'

// Message channels
export { MessageTruncatedError, type Channel } from './channel.js'
export { MessageQueue, closedChannelError, type MessageQueueOptions } from './message-queue.js'

// The ordered write queue
export { DEFAULT_COPY_THRESHOLD, WriteQueue, type WriteData, type WriteQueueOptions } from './write-queue.js'
export type { WriteSink } from './write-sink.js'

export { allocChunk } from './slab.js'
// Huge-page memory with explicit ownership (staging for vmsplice, O_DIRECT buffers).
export { HUGE_PAGE, HugeRegion, thpPossible } from './huge-region.js'

// Synchronous socket calls (bind, listen, options, names) for transports
export * as sockets from './sys/socket.js'
// libc bindings for transports (fs, tty): each C function bound once, in core; fcntl only as safe helpers
export * as libc from './sys/transport-libc.js'
