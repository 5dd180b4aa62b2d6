/**
 * @ringio/core: the user API of ringio's core — one-shot fd operations as
 * Promises, kernel timers and readiness as Observables, the backend choice,
 * and the typed errors. What transports build on (the proactor, operations
 * as data, the write and message queues, the read pools, libc) is
 * `@ringio/core/transport`.
 *
 * ## Example
 * ```ts
 * import { backend, nop, ringTimer } from '@ringio/core'
 * await nop()                                // one round trip through the ring
 * ringTimer(100).subscribe(() => console.log(`100 ms on ${backend()}`))
 * ```
 * @packageDocumentation
 */

// Errors
export { IoError, abortError } from './errors.js'
// errno numbers (Linux) to compare an IoError's errno with, and their names
export { EAGAIN, EBADF, ECANCELED, EINTR, EINVAL, EIO, ENOSYS, ENOTTY, EPERM, EPIPE, errnoName } from './sys/errno.js'

// The backend
export type { BackendName } from './proactor.js'
export { backend, backendFallbackReason, closeProactor, configure, type ProactorOptions } from './backend.js'
export type { OperationLabel, OperationOptions } from './operation.js'

// One-shot fd operations
export { close, fsync, nop, openat, read, readv, splice, write, writev } from './fd-io.js'
export { SPLICE_F_MORE, SPLICE_F_MOVE, SPLICE_F_NONBLOCK } from './ops/splice.js'
export { splicePipes } from './splice-pipes.js'

// Observables
export { interval, ringInterval, ringTimer, timer } from './timers.js'
export { poll, PollEvents } from './readiness-observable.js'

// Message channels and write data, as the transports' public types use them
export { MessageTruncatedError, type Channel } from './channel.js'
export type { WriteData } from './write-data.js'
