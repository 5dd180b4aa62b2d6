/**
 * The reactor half of the poll backend: one libuv poll handle per fd, shared
 * by every I/O operation pending on that fd. libuv allows only one `uv_poll_t`
 * per fd (a second gets EEXIST), so reads and writes on one fd are multiplexed
 * here: reads wait on readable, writes on writable, each direction served
 * FIFO; interest follows the queues. When nothing waits on the fd its handle
 * is stopped, not closed (reopening per idle spell cost an ioctl, a koffi
 * handle and two epoll_ctl calls); it is closed with the fd: by the close op
 * (`dropFd`), by `closeSync` (`sys/close-hooks.ts`) or at shutdown, so a
 * closed-and-reused fd number never meets a stale handle.
 *
 * Poll operations are different: their fd is usually not ours (`poll(fd)` is
 * for a library's own sockets, a shared pipe, a TTY), and `uv_poll_init`
 * would switch its description to O_NONBLOCK. So they are watches in the
 * private epoll set of `shared-readiness.ts`, which changes no flag; they are
 * still listed here per fd, so cancel, `close(fd)` and shutdown find them.
 *
 * @packageDocumentation
 */
import { watchFd, type FdWatcher } from '../loop/fd-watcher.js'
import { State, type PollOpRecord } from './op.js'
import type { SharedReadiness } from './shared-readiness.js'
import { EINVAL, EPERM, POLLERR, POLLHUP, POLLIN, POLLOUT } from './sys.js'

import { AGAIN, DONE, WAIT } from './attempt.js'

/** What the reactor asks of the proactor. */
export interface ReadyDriver {
  /** Tries the op's syscall once: {@link WAIT}, {@link DONE} or {@link AGAIN}. */
  step(slot: number): number
  /** Reports `revents` to a poll op; returns true when the op is finished (one-shot). */
  firePoll(slot: number, revents: number): boolean
  /** Ends an op with `res` — an error, or a poll's final revents — (or, for a threadpool op, marks it cancelled). */
  fail(slot: number, res: number): void
  /** 0 when epoll can watch `fd`, else `-errno` (EPERM for regular files, EBADF). */
  pollable(fd: number): number
  /**
   * Called first in each fd event: when a receive found the buffer group dry
   * since the last one, delivers the completions waiting, whose consumers
   * give their buffers back (see `Sink.starve`).
   */
  relieve(): void
}

/** Which queue of an fd an op waits in. */
export type Direction = 'read' | 'write' | 'poll'

// Steps per queue per wakeup: a firehose socket must not starve the others (level-triggered, so the rest comes next turn).
const BUDGET = 64

class FdState {
  watcher: FdWatcher | null = null
  readonly reads: number[] = []
  readonly writes: number[] = []
  /** Poll ops, each a watch in the private epoll set. */
  readonly polls: number[] = []
  /** Ops on this fd not waiting for readiness: threadpool calls (so `close(fd)` finds them). */
  readonly others: number[] = []
  wantR = false
  wantW = false
  refd = false
  constructor(readonly fd: number) {}
}

/** The per-fd watcher table. */
export class Readiness {
  private readonly fds = new Map<number, FdState>()

  /**
   * @param ops op records by slot
   * @param driver the proactor's side
   * @param epoll the private epoll set that holds the poll ops' watches
   */
  constructor(
    private readonly ops: PollOpRecord[],
    private readonly driver: ReadyDriver,
    private readonly epoll: SharedReadiness,
  ) {
    epoll.onWatch((slot, revents) => this.watchFired(slot, revents))
  }

  /**
   * Queues an op behind the others of its direction. When it is first in line
   * it is tried at once (try first, poll only on EAGAIN); its completion is
   * only queued, so this is safe inside a start call.
   */
  submit(slot: number, dir: Direction): void {
    const st = this.state(this.ops[slot]!.fd)
    this.ops[slot]!.state = State.Waiting
    if (dir === 'poll') return this.watch(st, slot)
    const q = dir === 'read' ? st.reads : st.writes
    q.push(slot)
    if (q.length === 1) this.service(q)
    this.sync(st)
  }

  /** True while `fd` has a libuv poll handle (running or stopped): it is then O_NONBLOCK. */
  watching(fd: number): boolean {
    const st = this.fds.get(fd)
    return st !== undefined && st.watcher !== null
  }

  /** Remembers a threadpool or parked op on its fd, for {@link dropFd}. */
  track(slot: number): void {
    this.state(this.ops[slot]!.fd).others.push(slot)
  }

  /** Takes an op off whatever list of its fd holds it (cancel, threadpool return). */
  remove(slot: number): void {
    const st = this.fds.get(this.ops[slot]!.fd)
    if (!st) return
    for (const q of [st.reads, st.writes, st.polls, st.others]) {
      const i = q.indexOf(slot)
      if (i >= 0) {
        q.splice(i, 1)
        if (q === st.polls) this.epoll.unwatch(slot)
        break
      }
    }
    this.sync(st)
  }

  /** Before `close(fd)`: ends every op on `fd` with `res` and closes its watcher. */
  dropFd(fd: number, res: number): void {
    const st = this.fds.get(fd)
    if (!st) return
    this.fds.delete(fd)
    st.watcher?.close()
    st.watcher = null
    for (const slot of st.polls) this.epoll.unwatch(slot)
    for (const q of [st.reads, st.writes, st.polls, st.others]) for (const slot of q.splice(0)) this.driver.fail(slot, res)
  }

  /** Closes every watcher and watch and forgets every fd (the proactor has already ended the ops). */
  closeAll(): void {
    for (const st of this.fds.values()) {
      st.watcher?.close()
      for (const slot of st.polls) this.epoll.unwatch(slot)
    }
    this.fds.clear()
  }

  private state(fd: number): FdState {
    let st = this.fds.get(fd)
    if (!st) this.fds.set(fd, (st = new FdState(fd)))
    return st
  }

  /** Steps ops from the head of `q` until one must wait or the budget is spent. */
  private service(q: number[]): void {
    for (let budget = BUDGET; q.length > 0 && budget > 0; budget--) {
      const r = this.driver.step(q[0]!)
      if (r === WAIT) return
      if (r === DONE) q.shift()
    }
  }

  private onEvent(st: FdState, status: number, readable: boolean, writable: boolean): void {
    // Not inside any service loop here: the deliveries may start and cancel ops, even on this fd.
    this.driver.relieve()
    if (this.fds.get(st.fd) !== st || !st.watcher) return // dropped while the event was in flight (or by a delivery)
    if (status < 0) {
      // libuv reports EPOLLERR as status UV_EBADF and stops the handle. The fd is fine: the
      // error is the socket's (a refused connect, a reset). Each head op retries its syscall,
      // which reports the real errno (connect reads SO_ERROR); then the handle is restarted.
      this.service(st.reads)
      this.service(st.writes)
      st.wantR = st.wantW = false // forces sync() to start() the stopped handle again
    } else {
      if (readable) this.service(st.reads)
      if (writable) this.service(st.writes)
    }
    this.sync(st)
  }

  /**
   * A poll op as a watch in the private epoll set. An fd epoll refuses (EPERM:
   * a regular file, a directory) is always readable and writable, as
   * io_uring's POLL_ADD reports it: the op ends at once with those of its
   * events — final, even multishot, exactly the completion io_uring posts
   * (`poll()` re-arms on it) — or with EINVAL when it asked for neither.
   */
  private watch(st: FdState, slot: number): void {
    const op = this.ops[slot]!
    const err = this.epoll.watch(slot, st.fd, op.events, op.ref)
    if (err === 0) {
      st.polls.push(slot)
      return
    }
    const always = op.events & (POLLIN | POLLOUT)
    this.driver.fail(slot, err !== -EPERM ? err : always !== 0 ? always : -EINVAL)
    this.sync(st) // forgets the fd when nothing else is pending on it
  }

  private watchFired(slot: number, mask: number): void {
    const op = this.ops[slot]!
    const st = this.fds.get(op.fd)
    if (st === undefined || op.state !== State.Waiting) return
    // ERR and HUP are reported whatever was asked, as poll(2) and io_uring do; epoll adds RDHUP only when asked.
    const revents = mask & (op.events | POLLERR | POLLHUP) & 0xffff
    if (revents === 0 || !this.driver.firePoll(slot, revents)) return
    st.polls.splice(st.polls.indexOf(slot), 1) // one-shot: done
    this.epoll.unwatch(slot)
    this.sync(st)
  }

  /** Makes the watcher match the queues: open, re-aim, ref/unref, or close it. */
  private sync(st: FdState): void {
    const wantR = st.reads.length > 0
    const wantW = st.writes.length > 0
    if (!wantR && !wantW) return this.idle(st)
    if (!st.watcher) {
      if (!this.open(st, wantR, wantW)) return
    } else if (wantR !== st.wantR || wantW !== st.wantW) {
      st.watcher.start({ readable: wantR, writable: wantW })
    }
    st.wantR = wantR
    st.wantW = wantW
    this.syncRef(st)
  }

  /**
   * Nothing waits for readiness on the fd. Its handle is stopped, not closed:
   * an echoed connection goes idle between a send and the next receive many
   * times a second, and reopening cost an ioctl in `uv_poll_init`, a koffi
   * handle and two epoll_ctl calls of the pollable check each time (issue
   * 18's profile). The handle is closed with the fd (`dropFd`, from the
   * close op and from `closeSync`), or at shutdown.
   */
  private idle(st: FdState): void {
    if (st.watcher !== null && (st.wantR || st.wantW)) st.watcher.stop()
    st.wantR = st.wantW = false
    if (st.watcher === null && st.others.length === 0 && st.polls.length === 0 && this.fds.get(st.fd) === st) this.fds.delete(st.fd)
  }

  private open(st: FdState, wantR: boolean, wantW: boolean): boolean {
    // koffi's poll handle aborts the process when uv_poll_init fails (EPERM on a
    // regular file, EBADF): ask epoll first and fail the waiting ops instead.
    const err = this.driver.pollable(st.fd)
    if (err < 0) {
      this.unpollable(st, err)
      return false
    }
    st.watcher = watchFd(st.fd, { readable: wantR, writable: wantW }, (status, r, w) => this.onEvent(st, status, r, w))
    st.refd = true
    return true
  }

  /** An fd epoll cannot watch: its I/O ops fail with the error. */
  private unpollable(st: FdState, err: number): void {
    for (const slot of st.reads.splice(0)) this.driver.fail(slot, err)
    for (const slot of st.writes.splice(0)) this.driver.fail(slot, err)
    this.idle(st)
  }

  private syncRef(st: FdState): void {
    const refd = [st.reads, st.writes].some((q) => q.some((s) => this.ops[s]!.ref))
    if (refd === st.refd || !st.watcher) return
    st.refd = refd
    if (refd) st.watcher.ref()
    else st.watcher.unref()
  }
}
