/**
 * Gathers work from many sockets into one macrotask, so that writes made
 * outside a ringio delivery reach the kernel in one `io_uring_enter`.
 *
 * The proactor submits what was started at the end of each macrotask (a
 * microtask flush). Inside a delivery (a `data$` callback) every write of
 * the wakeup shares one enter. Writes made elsewhere each pay their own:
 * Node's `JSStreamSocket` (under every TLS and h2c socket on a NodeSocket)
 * completes each write in a `setImmediate` of its own, and the next
 * pipelined http response is written from there, so an https server did one
 * enter per response (measured: 13.4k enters for 13.4k requests, against
 * one per ~15 requests for plain http) and spent 23 µs per request in
 * `io_uring_enter` instead of 9. Deferring those writes to one shared
 * `setImmediate` puts them back into one enter. When scheduled from the poll
 * phase (promise continuations after a delivery, I/O callbacks) the batch
 * runs in the same loop iteration; from inside an immediate, in the next.
 *
 * @packageDocumentation
 */

const pending: (() => void)[] = []
let scheduled = false

function run(): void {
  scheduled = false
  // Taken whole: what the tasks defer goes into the next batch.
  const tasks = pending.splice(0)
  for (const task of tasks) task()
}

/** Runs `task` in the next shared batch (one `setImmediate` for every task deferred until then). */
export function inNextBatch(task: () => void): void {
  pending.push(task)
  if (!scheduled) {
    scheduled = true
    setImmediate(run)
  }
}
