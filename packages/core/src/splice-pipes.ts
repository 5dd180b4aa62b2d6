/**
 * `splicePipes(fdIn, fdOut)`: everything from one pipe into another, inside
 * the kernel, at the speed of `cat`. The bytes never enter JavaScript.
 *
 * Why not a loop of SPLICE ops: io_uring always runs SPLICE in an io-wq
 * worker, so each call (at most a pipe's 64 KiB) costs a round trip to that
 * thread and back through the eventfd — measured at about 100 µs, which held
 * a pipe-to-pipe copy to Node's `stdin.pipe(stdout)` speed (~0.6x `/bin/cat`,
 * bench/results/cat-2026-12-03.txt). Here each call is `splice(2)` with
 * `SPLICE_F_NONBLOCK` made right on the JS thread: moving page references
 * takes microseconds, and the flag makes both pipe sides non-blocking for
 * that call only. No fd's flags change, so inherited stdin and stdout are
 * safe. When a side is not ready the copy waits for readiness with a `poll`
 * op, which changes no flag either and can be cancelled.
 *
 * @packageDocumentation
 */
import { fstatSync } from 'node:fs'
import { abortError, checkInt, checkSignal, IoError } from './errors.js'
import { run, type OperationOptions } from './operation.js'
import { SPLICE_F_MOVE, SPLICE_F_NONBLOCK } from './ops/splice.js'
import * as sys from './poll/sys.js'
import { POLLERR, POLLHUP, POLLIN, POLLOUT } from './poll/sys.js'
import { EAGAIN, EINTR } from './sys/errno.js'
import { errno, poll as pollNow, schedYield } from './sys/libc.js'

/** How long one turn may copy before it lets the event loop run (ms). */
const TURN_MS = 2
/**
 * Stalled tries that first yield the CPU (`sched_yield`) before a readiness
 * wait is armed: the process at the other end of a pipe usually frees room
 * (or brings data) within microseconds, and a poll op's round trip through
 * the ring costs tens of them — most of the copy's CPU when every 64 KiB
 * stalled (measured). tty's bulk pipe writer does the same.
 */
const SPIN_TRIES = 4

/**
 * Copies everything from pipe `fdIn` to pipe `fdOut` until the end of the
 * input, inside the kernel (`splice(2)`), and resolves with the bytes moved.
 * Both must be pipes or FIFOs (a TypeError at the call site otherwise: use
 * `splice()` for a file or socket end). One copy at a time per pair: two
 * would interleave.
 *
 * ## Example
 * ```ts
 * // cat, when stdin and stdout are both pipes:
 * await splicePipes(0, 1)
 * ```
 *
 * The copy yields to the event loop every few milliseconds, so timers and
 * other I/O go on during a long copy.
 *
 * @param opts `signal`: aborting stops the copy between two calls (nothing
 *   moved is lost: it is in `fdOut`) and rejects with the signal's reason;
 *   `chunk`: the most bytes one call moves (default 1 MiB)
 * @returns the bytes moved; rejects with `IoError` (`EPIPE` when `fdOut` has
 *   no reader, `EBADF`…) or the abort reason
 */
export function splicePipes(fdIn: number, fdOut: number, opts?: OperationOptions & { chunk?: number }): Promise<number> {
  checkInt('fdIn', fdIn, 0, 0x7fffffff)
  checkInt('fdOut', fdOut, 0, 0x7fffffff)
  const chunk = checkInt('chunk', opts?.chunk ?? 1 << 20, 1, 0x7ffff000)
  const signal = checkSignal(opts?.signal)
  for (const [name, fd] of [['fdIn', fdIn], ['fdOut', fdOut]] as const) {
    if (!fstatSync(fd).isFIFO()) throw new TypeError(`${name} (${fd}) is not a pipe: use splice() for files and sockets`)
  }
  return copy(fdIn, fdOut, chunk, signal)
}

async function copy(fdIn: number, fdOut: number, chunk: number, signal: AbortSignal | undefined): Promise<number> {
  const fds = Buffer.alloc(16) // two struct pollfd { int fd; short events; short revents; }
  fds.writeInt32LE(fdIn, 0)
  fds.writeInt16LE(POLLIN, 4)
  fds.writeInt32LE(fdOut, 8)
  fds.writeInt16LE(POLLOUT, 12)
  let total = 0
  for (;;) {
    if (signal?.aborted === true) throw abortError(signal)
    const started = performance.now()
    let stalled = false
    for (let spins = 0; ; ) {
      const n = sys.spliceAt(fdIn, 0, fdOut, 0, chunk, SPLICE_F_NONBLOCK | SPLICE_F_MOVE)
      if (n > 0) {
        total += n
        spins = 0
        if (performance.now() - started > TURN_MS) break
        continue
      }
      if (n === 0) return total // the input's writers are gone and it is empty
      const e = errno()
      if (e === EINTR) continue
      if (e !== EAGAIN) throw new IoError(e, 'splice', fdIn)
      if (spins++ < SPIN_TRIES && performance.now() - started <= TURN_MS) {
        schedYield()
        continue
      }
      stalled = true
      break
    }
    if (!stalled) {
      await new Promise((resolve) => setImmediate(resolve)) // let the loop run, then go on
      continue
    }
    // EAGAIN: the input is empty or the output is full. Wait for the side that is not ready.
    if (pollNow(fds, 2, 0) < 0 && errno() !== EINTR) throw new IoError(errno(), 'poll', fdIn)
    const inReady = (fds.readInt16LE(6) & (POLLIN | POLLHUP | POLLERR)) !== 0
    const outReady = (fds.readInt16LE(14) & (POLLOUT | POLLERR)) !== 0
    if (!inReady) await run({ kind: 'poll', fd: fdIn, events: POLLIN, multishot: false }, { signal })
    else if (!outReady) await run({ kind: 'poll', fd: fdOut, events: POLLOUT, multishot: false }, { signal })
    // Both ready by now: go on.
  }
}
