/**
 * Readiness of fds ringio does not own, without touching them: libuv's
 * `uv_poll_init` switches the fd it watches to O_NONBLOCK, which on a shared
 * description (an inherited pipe, a FIFO, a TTY, a user's socket) breaks the
 * parent shell and sibling processes. So shared fds go into a private epoll
 * instance instead — `epoll_ctl` changes no file flags — and only that epoll
 * fd, which we own, is watched by libuv. Two users:
 *
 * - a read on a blocking fd waits here (cancellable), then runs as a blocking
 *   read on the threadpool once data is there (level-triggered, one reader per
 *   wakeup);
 * - a poll operation (`poll(fd)`) is a *watch*: edge-triggered, as io_uring's
 *   multishot POLL_ADD — reported at once if ready, then once per new wakeup
 *   of the fd.
 *
 * epoll keys a registration by (file, fd number) and allows one per pair
 * (a second ADD is EEXIST), while each watch needs its own edge and the
 * waiting reads their own level. So the first registration of an fd uses the
 * fd itself and any other one a close-on-exec duplicate of it (sharing the
 * file description, which nothing here modifies); each ends with its own
 * `EPOLL_CTL_DEL` (before the duplicate's `close`: a registration lives as
 * long as its description, which the user's fd keeps open). Events carry a
 * tag per registration, not an fd number, so an event of a registration
 * already gone never reaches another one.
 *
 * @packageDocumentation
 */
import { watchFd, type FdWatcher } from '../loop/fd-watcher.js'
import * as sys from './sys.js'
import { dupCloexec } from '../sys/fd-flags.js'

const { EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLLIN, EPOLLERR, EPOLLHUP, EPOLLET } = sys
// struct epoll_event is packed on x86-64 (u32 events, u64 data: 12 bytes), 16 bytes elsewhere (data at 8).
const EVENT_SIZE = process.arch === 'x64' ? 12 : 16
const DATA = process.arch === 'x64' ? 4 : 8
const MAX_EVENTS = 64

/** Called with a watch's slot and the `revents` epoll reported (ERR and HUP whatever was asked). */
export type WatchFired = (slot: number, revents: number) => void

/** One registration in the epoll set: the reads waiting on an fd, or one watch. */
interface Reg {
  /** The epoll data: unique among live registrations. */
  tag: number
  /** The fd as the caller knows it. */
  fd: number
  /** The number registered: `fd` itself, or our duplicate of it. */
  num: number
  /** Reads waiting (level-triggered), FIFO; null for a watch. */
  reads: number[] | null
  /** The watch's slot; -1 for reads. */
  slot: number
}

/** A private epoll set for shared fds, watched through one libuv handle on an fd we own. */
export class SharedReadiness {
  private epfd = -1
  private watcher: FdWatcher | null = null
  private readonly byTag = new Map<number, Reg>()
  /** Registered numbers: a second registration of one of them must use a duplicate. */
  private readonly nums = new Set<number>()
  /** fd -> the registration its waiting reads share. */
  private readonly readsOf = new Map<number, Reg>()
  /** slot -> the registration it waits in (a read's shared one, or its watch). */
  private readonly bySlot = new Map<number, Reg>()
  private readonly refd = new Set<number>()
  private readonly ev = Buffer.alloc(EVENT_SIZE)
  private readonly events = Buffer.alloc(EVENT_SIZE * MAX_EVENTS)
  private refs = 0
  private nextTag = 0
  private fired: WatchFired = () => {}

  /** @param ready called with a slot whose fd became readable (or failed): the op may run now. */
  constructor(private readonly ready: (slot: number) => void) {}

  /** Sets who hears of {@link watch} events (the reactor owning the poll ops). */
  onWatch(fired: WatchFired): void {
    this.fired = fired
  }

  /** Waits for `fd` to be readable on behalf of `slot`. Returns 0 or `-errno` (e.g. EPERM: not pollable). */
  wait(slot: number, fd: number, ref: boolean): number {
    let reg = this.readsOf.get(fd)
    if (reg === undefined) {
      const r = this.register(fd, EPOLLIN, -1)
      if (typeof r === 'number') return r
      reg = r
      this.readsOf.set(fd, reg)
    }
    reg.reads!.push(slot)
    this.bySlot.set(slot, reg)
    this.hold(slot, ref)
    return 0
  }

  /** Stops waiting for `slot` (cancel). Returns false when it was not waiting here. */
  remove(slot: number): boolean {
    const reg = this.bySlot.get(slot)
    if (reg?.reads == null) return false
    reg.reads.splice(reg.reads.indexOf(slot), 1)
    if (reg.reads.length === 0) this.forgetReads(reg)
    this.done(slot)
    return true
  }

  /**
   * Watches `fd` for `events` (`poll(2)` bits) on behalf of the poll op in
   * `slot`, until {@link unwatch}: edge-triggered, as io_uring's multishot
   * POLL_ADD — one event now if `fd` is ready, then one per new wakeup.
   * Returns 0 or `-errno`: EPERM when epoll cannot watch `fd` (a regular file,
   * a directory), EBADF, EMFILE when a duplicate is needed and no fd is left.
   */
  watch(slot: number, fd: number, events: number, ref: boolean): number {
    const r = this.register(fd, (events & 0xffff) | EPOLLET, slot)
    if (typeof r === 'number') return r
    this.bySlot.set(slot, r)
    this.hold(slot, ref)
    return 0
  }

  /** Ends the watch of `slot`. Returns false when it had none. */
  unwatch(slot: number): boolean {
    const reg = this.bySlot.get(slot)
    if (reg === undefined || reg.reads !== null) return false
    this.unregister(reg)
    this.done(slot)
    return true
  }

  /** Closes the epoll fd, its watcher and our duplicates. Idempotent. */
  close(): void {
    this.watcher?.close()
    this.watcher = null
    if (this.epfd >= 0) sys.close(this.epfd)
    this.epfd = -1
    for (const reg of this.byTag.values()) if (reg.num !== reg.fd) sys.close(reg.num)
    this.byTag.clear()
    this.nums.clear()
    this.readsOf.clear()
    this.bySlot.clear()
    this.refd.clear()
    this.refs = 0
  }

  /** Adds `fd` (or, when its number is taken, a duplicate) for a watch's `slot` or, with -1, for reads: the registration, or `-errno`. */
  private register(fd: number, events: number, slot: number): Reg | number {
    if (this.epfd < 0 && !this.open()) return -sys.errno()
    const num = this.nums.has(fd) ? dupCloexec(fd) : fd
    if (num < 0) return num
    const tag = (this.nextTag = (this.nextTag % 0x7fffffff) + 1)
    this.ev.fill(0)
    this.ev.writeUInt32LE(events >>> 0, 0)
    this.ev.writeUInt32LE(tag, DATA)
    if (sys.epollCtl(this.epfd, EPOLL_CTL_ADD, num, this.ev) < 0) {
      const err = sys.errno()
      if (num !== fd) sys.close(num)
      return -err
    }
    const reg: Reg = { tag, fd, num, reads: slot < 0 ? [] : null, slot }
    this.byTag.set(tag, reg)
    this.nums.add(num)
    return reg
  }

  private unregister(reg: Reg): void {
    this.byTag.delete(reg.tag)
    this.nums.delete(reg.num)
    sys.epollCtl(this.epfd, EPOLL_CTL_DEL, reg.num, this.ev)
    if (reg.num !== reg.fd) sys.close(reg.num)
  }

  private forgetReads(reg: Reg): void {
    this.readsOf.delete(reg.fd)
    this.unregister(reg)
  }

  private done(slot: number): void {
    this.bySlot.delete(slot)
    if (this.refd.delete(slot) && --this.refs === 0) this.watcher?.unref()
  }

  private hold(slot: number, ref: boolean): void {
    if (!ref) return
    this.refd.add(slot)
    if (this.refs++ === 0) this.watcher!.ref()
  }

  private open(): boolean {
    this.epfd = sys.epollCreate1(sys.EPOLL_CLOEXEC)
    if (this.epfd < 0) return false
    this.watcher = watchFd(this.epfd, { readable: true }, () => this.onWake())
    this.watcher.unref()
    return true
  }

  private onWake(): void {
    const n = sys.epollWait(this.epfd, this.events, MAX_EVENTS, 0)
    for (let i = 0; i < n; i++) {
      const mask = this.events.readUInt32LE(i * EVENT_SIZE)
      const reg = this.byTag.get(this.events.readUInt32LE(i * EVENT_SIZE + DATA))
      if (reg === undefined) continue // ended earlier in this batch
      if (reg.reads === null) {
        this.fired(reg.slot, mask)
        continue
      }
      if ((mask & (EPOLLIN | EPOLLERR | EPOLLHUP)) === 0) continue
      // One reader per wakeup: it may take all the data; the rest wait for more (level-triggered).
      const slot = reg.reads.shift()!
      this.done(slot)
      if (reg.reads.length === 0) this.forgetReads(reg)
      this.ready(slot)
    }
  }
}
