/**
 * Blocking calls on libuv's threadpool, through koffi's `.async` calls: file
 * I/O (regular files cannot be polled — epoll says EPERM — and block anyway),
 * and reads/writes on fds that are not O_NONBLOCK, which may be shared with
 * the parent shell and so are never switched to non-blocking (principle 3).
 *
 * # Cancel safety
 * A call running on a worker thread cannot be interrupted: the buffer is in
 * use until it returns. `cancel` therefore only marks the op; when the call
 * returns, a success is reported as is (it won the race — reporting
 * ECANCELED would hide bytes really read from a pipe or really written), and
 * a failure as `-ECANCELED`. A read blocked on an idle pipe holds a worker
 * thread until data or EOF arrives.
 *
 * Calls start through the pool gate (`pool-gate.ts`), which keeps them
 * within koffi's budget of async calls; one still waiting there has not
 * reached a worker, and cancel ends it at once.
 *
 * @packageDocumentation
 */
import type { PoolCallback } from './attempt.js'
import type { PollOpRecord } from './op.js'

/**
 * Starts the op's blocking syscall on the threadpool (its spec's poll form
 * says which); `cb` runs on the JS thread with the raw result (read errno
 * with `sys.errno()` inside it). Throws when koffi's queue of async calls is
 * full (the pool gate then retries it).
 */
export function runBlocking(rec: PollOpRecord, cb: PoolCallback): void {
  const blocking = rec.spec!.poll.blocking
  if (blocking === undefined) throw new Error(`ringio: op kind ${rec.op!.kind} has no threadpool form`)
  blocking(rec.op!, rec, cb)
}
