/**
 * Readiness of fds ringio does not own, without touching them: libuv's
 * `uv_poll_init` switches the fd it watches to O_NONBLOCK, which on a shared
 * description (an inherited pipe, a FIFO, a TTY) breaks the parent shell and
 * sibling processes. So shared fds go into a private epoll instance instead —
 * `epoll_ctl` changes no file flags — and only that epoll fd, which we own,
 * is watched by libuv. A read on such an fd waits here (cancellable), then runs
 * as a blocking read on the threadpool once data is there.
 *
 * @packageDocumentation
 */
import { watchFd, type FdWatcher } from '../loop/fd-watcher.js'
import * as sys from './sys.js'

const EPOLL_CTL_ADD = 1
const EPOLL_CTL_DEL = 2
const EPOLLIN = 0x001
const EPOLLERR = 0x008
const EPOLLHUP = 0x010
// struct epoll_event is packed on x86-64 (u32 events, u64 data: 12 bytes), 16 bytes elsewhere.
const EVENT_SIZE = process.arch === 'x64' ? 12 : 16
const MAX_EVENTS = 64

/** A private epoll set for shared fds, watched through one libuv handle on an fd we own. */
export class SharedReadiness {
  private epfd = -1
  private watcher: FdWatcher | null = null
  private readonly waiting = new Map<number, number[]>() // fd -> slots, FIFO
  private readonly slotFd = new Map<number, number>()
  private readonly refd = new Set<number>()
  private readonly ev = Buffer.alloc(EVENT_SIZE)
  private readonly events = Buffer.alloc(EVENT_SIZE * MAX_EVENTS)
  private refs = 0

  /** @param ready called with a slot whose fd became readable (or failed): the op may run now. */
  constructor(private readonly ready: (slot: number) => void) {}

  /** Waits for `fd` to be readable on behalf of `slot`. Returns 0 or `-errno` (e.g. EPERM: not pollable). */
  wait(slot: number, fd: number, ref: boolean): number {
    if (this.epfd < 0 && !this.open()) return -sys.errno()
    let q = this.waiting.get(fd)
    if (q === undefined) {
      this.ev.fill(0)
      this.ev.writeUInt32LE(EPOLLIN, 0)
      this.ev.writeUInt32LE(fd, 4)
      if (sys.epollCtl(this.epfd, EPOLL_CTL_ADD, fd, this.ev) < 0) return -sys.errno()
      q = []
      this.waiting.set(fd, q)
    }
    q.push(slot)
    this.slotFd.set(slot, fd)
    if (ref) {
      this.refd.add(slot)
      if (this.refs++ === 0) this.watcher!.ref()
    }
    return 0
  }

  /** Stops waiting for `slot` (cancel). Returns false when it was not waiting here. */
  remove(slot: number): boolean {
    const fd = this.slotFd.get(slot)
    if (fd === undefined) return false
    const q = this.waiting.get(fd)!
    q.splice(q.indexOf(slot), 1)
    if (q.length === 0) this.forget(fd)
    this.done(slot)
    return true
  }

  private done(slot: number): void {
    this.slotFd.delete(slot)
    if (this.refd.delete(slot) && --this.refs === 0) this.watcher?.unref()
  }

  /** Closes the epoll fd and its watcher. Idempotent. */
  close(): void {
    this.watcher?.close()
    this.watcher = null
    if (this.epfd >= 0) sys.close(this.epfd)
    this.epfd = -1
    this.waiting.clear()
    this.slotFd.clear()
    this.refd.clear()
    this.refs = 0
  }

  private open(): boolean {
    this.epfd = sys.epollCreate1(sys.O_CLOEXEC)
    if (this.epfd < 0) return false
    this.watcher = watchFd(this.epfd, { readable: true }, () => this.onWake())
    this.watcher.unref()
    return true
  }

  private onWake(): void {
    const n = sys.epollWait(this.epfd, this.events, MAX_EVENTS, 0)
    for (let i = 0; i < n; i++) {
      const mask = this.events.readUInt32LE(i * EVENT_SIZE)
      const fd = this.events.readUInt32LE(i * EVENT_SIZE + 4)
      const q = this.waiting.get(fd)
      if (q === undefined || (mask & (EPOLLIN | EPOLLERR | EPOLLHUP)) === 0) continue
      // One reader per wakeup: it may take all the data; the rest wait for more (level-triggered).
      const slot = q.shift()!
      this.done(slot)
      if (q.length === 0) this.forget(fd)
      this.ready(slot)
    }
  }

  private forget(fd: number): void {
    this.waiting.delete(fd)
    sys.epollCtl(this.epfd, EPOLL_CTL_DEL, fd, this.ev)
  }
}
