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
import { addressOf } from '../sys/libc.js'
import { Kind, type PollOp } from './op.js'
import * as sys from './sys.js'

/** koffi's `.async` callback. */
export type PoolCallback = (err: unknown, res: number) => void

const ACCEPT_FLAGS = sys.SOCK_NONBLOCK | sys.SOCK_CLOEXEC

// A zero-length view may have no backing store; the kernel never reads its address.
const addr = (b: Uint8Array): number => (b.length === 0 ? 0 : addressOf(b))

/**
 * Starts `op`'s blocking syscall on the threadpool; `cb` runs on the JS thread
 * with the raw result (read errno with `sys.errno()` inside it). Throws when
 * koffi's queue of async calls is full (the pool gate then retries it).
 */
export function runBlocking(op: PollOp, cb: PoolCallback): void {
  const { fd } = op
  switch (op.kind) {
    case Kind.Read: {
      const b = op.buf!
      if (op.offset < 0) return sys.readAt.async(fd, addr(b), b.length, cb)
      return sys.preadAt.async(fd, addr(b), b.length, op.offset, cb)
    }
    case Kind.Write: {
      const b = op.buf!
      if (op.offset < 0) return sys.writeAt.async(fd, addr(b), b.length, cb)
      return sys.pwriteAt.async(fd, addr(b), b.length, op.offset, cb)
    }
    case Kind.Readv:
      if (op.offset < 0) return sys.readvAt.async(fd, addressOf(op.iov!), op.iovCount, cb)
      return sys.preadvAt.async(fd, addressOf(op.iov!), op.iovCount, op.offset, cb)
    case Kind.Writev:
      if (op.offset < 0) return sys.writevAt.async(fd, addressOf(op.iov!), op.iovCount, cb)
      return sys.pwritevAt.async(fd, addressOf(op.iov!), op.iovCount, op.offset, cb)
    case Kind.Fsync:
      return (op.flags ? sys.fdatasync : sys.fsync).async(fd, cb)
    case Kind.Openat:
      return sys.openatAt.async(fd, addressOf(op.buf!), op.flags, op.mode, cb)
    case Kind.Statx:
      return sys.statxAt.async(fd, addressOf(op.buf!), op.flags, op.mode, addressOf(op.out!), cb)
    case Kind.Fallocate:
      return sys.fallocate.async(fd, op.mode, op.offset, op.length, cb)
    case Kind.Ftruncate:
      return sys.ftruncate.async(fd, op.offset, cb)
    case Kind.Accept:
      return sys.accept4.async(fd, 0, 0, ACCEPT_FLAGS, cb)
    case Kind.Connect:
      return sys.connectAt.async(fd, addressOf(op.buf!), op.buf!.length, cb)
    default:
      throw new Error(`ringio: op kind ${op.kind} has no threadpool form`)
  }
}
