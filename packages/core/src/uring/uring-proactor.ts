/**
 * The io_uring backend of the {@link Proactor}: operations become SQEs,
 * completions come back through the CQ ring on Node's own loop thread.
 *
 * The route (DESIGN.md, "Measured facts"): a ring set up with
 * SINGLE_ISSUER | DEFER_TASKRUN, an eventfd registered with
 * IORING_REGISTER_EVENTFD, and that eventfd watched by a libuv poll handle.
 * The ring fd itself is never polled: under DEFER_TASKRUN it never wakes.
 * One wakeup enters the kernel once (submitting what is queued and running
 * deferred task work), then dispatches every posted CQE. SQEs prepared in one
 * turn of the loop go to the kernel together, in one `io_uring_enter`.
 *
 * @packageDocumentation
 */
import type { BufferGroup, Completion, OpId, OpName, Proactor, StartOptions } from '../proactor.js'
import { IoError } from '../errors.js'
import { SlotTable } from '../slot-table.js'
import { addressOf, close as sysClose, EFD_CLOEXEC, EFD_NONBLOCK, errno, eventfd, read, SOCK_CLOEXEC, socket } from '../sys/libc.js'
import { watchFd, type FdWatcher } from '../loop/fd-watcher.js'
import {
  IORING_ACCEPT_MULTISHOT,
  IORING_CQE_F_MORE,
  IORING_FEAT_CQE_SKIP,
  IORING_FEAT_SUBMIT_STABLE,
  IORING_POLL_ADD_MULTI,
  IORING_RECV_MULTISHOT,
  IORING_REGISTER_EVENTFD,
  IORING_TIMEOUT_MULTISHOT,
  IOSQE_BUFFER_SELECT,
  IOSQE_CQE_SKIP_SUCCESS,
  Op,
} from './abi.js'
import { BufferRing } from './buffer-ring.js'
import { prepRw, setAddrUserData, setBufGroup, setFlags, setOpFlags, setUserData } from './prep.js'
import { probeOps } from './probe.js'
import { Ring, type RingOptions } from './ring.js'

const TWO32 = 2 ** 32
/** user_data of internal SQEs whose CQE nobody waits for (cancels): no slot has this index. */
const IGNORED_SLOT = 0xffffffff
/** Dispatch/submit rounds in one wakeup before yielding to the rest of the loop. */
const MAX_ROUNDS = 4
/** iovecs in the per-batch arena (16 bytes each). */
const IOV_ARENA_ENTRIES = 4096

const OPCODES: Record<OpName, number> = {
  nop: Op.NOP,
  timeout: Op.TIMEOUT,
  cancel: Op.ASYNC_CANCEL,
  read: Op.READ,
  write: Op.WRITE,
  readv: Op.READV,
  writev: Op.WRITEV,
  fsync: Op.FSYNC,
  openat: Op.OPENAT,
  close: Op.CLOSE,
  accept: Op.ACCEPT,
  connect: Op.CONNECT,
  recv: Op.RECV,
  recvMultishot: Op.RECV,
  send: Op.SEND,
  sendZc: Op.SEND_ZC,
  sendmsg: Op.SENDMSG,
  recvmsg: Op.RECVMSG,
  shutdown: Op.SHUTDOWN,
  poll: Op.POLL_ADD,
}

/** Counts buffers a multishot receive hands out, so `BufferGroup.available` is right. */
class BufferSelectCompletion implements Completion {
  constructor(
    private readonly group: BufferRing,
    private readonly target: Completion,
  ) {}
  complete(res: number, flags: number): void {
    if ((flags & 1) !== 0) this.group.take()
    this.target.complete(res, flags)
  }
}

/** The io_uring {@link Proactor}. Create it through `getProactor()`, one per Node environment. */
export class UringProactor implements Proactor {
  readonly backend = 'uring' as const
  readonly ring: Ring
  private readonly slots = new SlotTable()
  private readonly supported: Uint8Array
  private readonly efd: number
  private readonly efdBuf = Buffer.alloc(8)
  private readonly watcher: FdWatcher
  private readonly groups = new Map<number, BufferRing>()
  private readonly skipCancelCqe: boolean
  // One timespec per SQE: the kernel copies it while the SQE is submitted, so
  // SQE i's timespec only has to live until the next enter.
  private readonly timespecs: Buffer
  private readonly timespec32: Uint32Array
  private readonly timespecAddr: number
  private readonly stableSubmit: boolean
  private readonly iovArena32: Uint32Array
  private readonly iovArenaAddr: number
  private iovUsed = 0
  private refd = new Uint8Array(256)
  private refs = 0
  private flushQueued = false
  private dispatching = false
  private readonly preSubmit: (() => void)[] = []
  private nextGroupId = 1
  private _closed = false
  private readonly flushTask = (): void => this.flush()

  constructor(opts: RingOptions = {}) {
    this.ring = new Ring(opts)
    try {
      this.supported = probeOps(this.ring)
      this.skipCancelCqe = (this.ring.features & IORING_FEAT_CQE_SKIP) !== 0
      this.timespecs = Buffer.allocUnsafeSlow(this.ring.sqEntries * 16).fill(0)
      this.timespec32 = new Uint32Array(this.timespecs.buffer, this.timespecs.byteOffset, this.ring.sqEntries * 4)
      this.timespecAddr = addressOf(this.timespecs)
      this.stableSubmit = (this.ring.features & IORING_FEAT_SUBMIT_STABLE) !== 0
      const arena = Buffer.allocUnsafeSlow(IOV_ARENA_ENTRIES * 16)
      this.iovArena32 = new Uint32Array(arena.buffer, arena.byteOffset, IOV_ARENA_ENTRIES * 4)
      this.iovArenaAddr = addressOf(arena)
      this.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)
      if (this.efd < 0) throw new IoError(errno(), 'eventfd')
      const arg = Buffer.alloc(4)
      arg.writeInt32LE(this.efd)
      this.ring.register(IORING_REGISTER_EVENTFD, arg, 1, 'register_eventfd')
      this.watcher = watchFd(this.efd, { readable: true }, () => this.onWake())
      this.watcher.unref()
    } catch (err) {
      this.ring.close()
      throw err
    }
  }

  get closed(): boolean {
    return this._closed
  }

  get pending(): number {
    return this.slots.live
  }

  supports(op: OpName): boolean {
    return this.supported[OPCODES[op]] === 1
  }

  nop(c: Completion, opts?: StartOptions): OpId {
    const w = this.sqe()
    prepRw(this.ring.sqe32, w, Op.NOP, -1, 0, 0, 0)
    return this.commit(w, c, undefined, opts)
  }

  timeout(ms: number, repeat: boolean, c: Completion, opts?: StartOptions): OpId {
    const w = this.sqe()
    const ts = w >> 2 // four timespec words per SQE index (w is index * 16)
    const sec = Math.floor(ms / 1000)
    this.timespec32[ts] = sec % TWO32
    this.timespec32[ts + 1] = (sec / TWO32) >>> 0
    this.timespec32[ts + 2] = Math.round((ms - sec * 1000) * 1e6)
    this.timespec32[ts + 3] = 0
    prepRw(this.ring.sqe32, w, Op.TIMEOUT, -1, this.timespecAddr + ts * 4, 1, 0)
    if (repeat) setOpFlags(this.ring.sqe32, w, IORING_TIMEOUT_MULTISHOT)
    return this.commit(w, c, undefined, opts)
  }

  cancel(id: OpId): void {
    if (this._closed) return
    const slot = this.slots.slotOf(id)
    if (slot < 0) return
    const w = this.sqe()
    prepRw(this.ring.sqe32, w, Op.ASYNC_CANCEL, -1, 0, 0, 0)
    setAddrUserData(this.ring.sqe32, w, slot, this.slots.gen(slot))
    // The cancel's own CQE is of no interest (the target gets -ECANCELED).
    if (this.skipCancelCqe) setFlags(this.ring.sqe32, w, IOSQE_CQE_SKIP_SUCCESS, 0)
    setUserData(this.ring.sqe32, w, IGNORED_SLOT, 0)
    this.queueFlush()
  }

  read(fd: number, buf: Uint8Array, offset: number, c: Completion, opts?: StartOptions): OpId {
    return this.rw(Op.READ, fd, buf, offset, c, opts)
  }

  write(fd: number, buf: Uint8Array, offset: number, c: Completion, opts?: StartOptions): OpId {
    return this.rw(Op.WRITE, fd, buf, offset, c, opts)
  }

  readv(fd: number, bufs: readonly Uint8Array[], offset: number, c: Completion, opts?: StartOptions): OpId {
    return this.rwv(Op.READV, fd, bufs, offset, c, opts)
  }

  writev(fd: number, bufs: readonly Uint8Array[], offset: number, c: Completion, opts?: StartOptions): OpId {
    return this.rwv(Op.WRITEV, fd, bufs, offset, c, opts)
  }

  fsync(fd: number, datasync: boolean, c: Completion, opts?: StartOptions): OpId {
    const w = this.sqe()
    prepRw(this.ring.sqe32, w, Op.FSYNC, fd, 0, 0, 0)
    if (datasync) setOpFlags(this.ring.sqe32, w, 1) // IORING_FSYNC_DATASYNC
    return this.commit(w, c, undefined, opts)
  }

  openat(dirfd: number, path: Uint8Array, flags: number, mode: number, c: Completion, opts?: StartOptions): OpId {
    const w = this.sqe()
    prepRw(this.ring.sqe32, w, Op.OPENAT, dirfd, addressOf(path), mode, 0)
    setOpFlags(this.ring.sqe32, w, flags)
    return this.commit(w, c, path, opts)
  }

  close(fd: number, c: Completion, opts?: StartOptions): OpId
  close(): void
  close(fd?: number, c?: Completion, opts?: StartOptions): OpId | void {
    if (fd === undefined) return this.shutdownAll()
    const w = this.sqe()
    prepRw(this.ring.sqe32, w, Op.CLOSE, fd, 0, 0, 0)
    return this.commit(w, c!, undefined, opts)
  }

  socket(domain: number, type: number, protocol: number): number {
    this.checkOpen()
    // Blocking on purpose: for an O_NONBLOCK socket io_uring returns EAGAIN
    // instead of arming its internal poll.
    const fd = socket(domain, type | SOCK_CLOEXEC, protocol)
    if (fd < 0) throw new IoError(errno(), 'socket')
    return fd
  }

  accept(fd: number, multishot: boolean, c: Completion, opts?: StartOptions): OpId {
    const w = this.sqe()
    prepRw(this.ring.sqe32, w, Op.ACCEPT, fd, 0, 0, 0)
    setOpFlags(this.ring.sqe32, w, SOCK_CLOEXEC)
    if (multishot) setFlags(this.ring.sqe32, w, 0, IORING_ACCEPT_MULTISHOT)
    return this.commit(w, c, undefined, opts)
  }

  connect(fd: number, addr: Uint8Array, c: Completion, opts?: StartOptions): OpId {
    const w = this.sqe()
    // CONNECT reads the sockaddr from addr and its length from off (addr2).
    prepRw(this.ring.sqe32, w, Op.CONNECT, fd, addressOf(addr), 0, addr.length)
    return this.commit(w, c, addr, opts)
  }

  recv(fd: number, buf: Uint8Array, flags: number, c: Completion, opts?: StartOptions): OpId {
    const w = this.sqe()
    prepRw(this.ring.sqe32, w, Op.RECV, fd, addressOf(buf), buf.length, 0)
    setOpFlags(this.ring.sqe32, w, flags)
    return this.commit(w, c, buf, opts)
  }

  recvMultishot(fd: number, group: BufferGroup, c: Completion, opts?: StartOptions): OpId {
    const ring = this.groups.get(group.id)
    if (ring === undefined || ring !== group) throw new TypeError('recvMultishot: group does not belong to this proactor')
    const w = this.sqe()
    prepRw(this.ring.sqe32, w, Op.RECV, fd, 0, 0, 0)
    setFlags(this.ring.sqe32, w, IOSQE_BUFFER_SELECT, IORING_RECV_MULTISHOT)
    setBufGroup(this.ring.sqe32, w, group.id)
    return this.commit(w, new BufferSelectCompletion(ring, c), undefined, opts)
  }

  send(fd: number, buf: Uint8Array, flags: number, c: Completion, opts?: StartOptions): OpId {
    const w = this.sqe()
    prepRw(this.ring.sqe32, w, Op.SEND, fd, addressOf(buf), buf.length, 0)
    setOpFlags(this.ring.sqe32, w, flags)
    return this.commit(w, c, buf, opts)
  }

  sendZc(fd: number, buf: Uint8Array, flags: number, c: Completion, opts?: StartOptions): OpId {
    if (this.supported[Op.SEND_ZC] !== 1) return this.send(fd, buf, flags, c, opts)
    const w = this.sqe()
    prepRw(this.ring.sqe32, w, Op.SEND_ZC, fd, addressOf(buf), buf.length, 0)
    setOpFlags(this.ring.sqe32, w, flags)
    return this.commit(w, c, buf, opts)
  }

  sendmsg(fd: number, msg: Uint8Array, flags: number, keep: unknown, c: Completion, opts?: StartOptions): OpId {
    return this.msg(Op.SENDMSG, fd, msg, flags, keep, c, opts)
  }

  recvmsg(fd: number, msg: Uint8Array, flags: number, keep: unknown, c: Completion, opts?: StartOptions): OpId {
    return this.msg(Op.RECVMSG, fd, msg, flags, keep, c, opts)
  }

  shutdown(fd: number, how: number, c: Completion, opts?: StartOptions): OpId {
    const w = this.sqe()
    prepRw(this.ring.sqe32, w, Op.SHUTDOWN, fd, 0, how, 0)
    return this.commit(w, c, undefined, opts)
  }

  poll(fd: number, events: number, multishot: boolean, c: Completion, opts?: StartOptions): OpId {
    const w = this.sqe()
    prepRw(this.ring.sqe32, w, Op.POLL_ADD, fd, 0, multishot ? IORING_POLL_ADD_MULTI : 0, 0)
    setOpFlags(this.ring.sqe32, w, events)
    return this.commit(w, c, undefined, opts)
  }

  bufferGroup(count: number, size: number): BufferGroup {
    this.checkOpen()
    const id = this.nextGroupId++
    const group = new BufferRing(this.ring, id, count, size)
    this.groups.set(id, group)
    const close = group.close.bind(group)
    group.close = () => {
      this.groups.delete(id)
      close()
    }
    return group
  }

  private rw(op: number, fd: number, buf: Uint8Array, offset: number, c: Completion, opts?: StartOptions): OpId {
    const w = this.sqe()
    prepRw(this.ring.sqe32, w, op, fd, addressOf(buf), buf.length, offset)
    return this.commit(w, c, buf, opts)
  }

  private rwv(op: number, fd: number, bufs: readonly Uint8Array[], offset: number, c: Completion, opts?: StartOptions): OpId {
    const n = bufs.length
    // Take the SQE first: taking it may submit (SQ full), which recycles the arena.
    const w = this.sqe()
    let at: number
    let iov: Uint32Array
    let iovAddr: number
    let keep: unknown
    if (this.stableSubmit && this.iovUsed + n <= IOV_ARENA_ENTRIES) {
      // IORING_FEAT_SUBMIT_STABLE: the kernel has read the iovec array once the
      // SQE is submitted, so iovecs come from an arena reset after each enter.
      at = this.iovUsed * 4
      this.iovUsed += n
      iov = this.iovArena32
      iovAddr = this.iovArenaAddr + at * 4
      keep = bufs
    } else {
      const own = Buffer.allocUnsafeSlow(n * 16)
      iov = new Uint32Array(own.buffer, own.byteOffset, n * 4)
      at = 0
      iovAddr = addressOf(own)
      keep = [own, bufs]
    }
    for (let i = 0; i < n; i++) {
      const b = bufs[i]!
      const a = addressOf(b)
      const e = at + i * 4
      iov[e] = a % TWO32
      iov[e + 1] = (a / TWO32) >>> 0
      iov[e + 2] = b.length
      iov[e + 3] = 0
    }
    prepRw(this.ring.sqe32, w, op, fd, iovAddr, n, offset)
    return this.commit(w, c, keep, opts)
  }

  private msg(op: number, fd: number, msg: Uint8Array, flags: number, keep: unknown, c: Completion, opts?: StartOptions): OpId {
    const w = this.sqe()
    prepRw(this.ring.sqe32, w, op, fd, addressOf(msg), 1, 0)
    setOpFlags(this.ring.sqe32, w, flags)
    return this.commit(w, c, [msg, keep], opts)
  }

  /** The word index of a free SQE, submitting first when the SQ is full. */
  private sqe(): number {
    this.checkOpen()
    let w = this.ring.nextSqe()
    if (w < 0) {
      this.submitNow()
      w = this.ring.nextSqe()
      if (w < 0) throw new IoError(16, 'io_uring_enter', this.ring.fd, { message: 'submission queue full' })
    }
    return w
  }

  private commit(w: number, c: Completion, keep: unknown, opts: StartOptions | undefined): OpId {
    const slot = this.slots.acquire(c, keep)
    setUserData(this.ring.sqe32, w, slot, this.slots.gen(slot))
    if (slot >= this.refd.length) {
      const grown = new Uint8Array(this.refd.length * 2 > slot ? this.refd.length * 2 : slot + 1)
      grown.set(this.refd)
      this.refd = grown
    }
    const ref = opts?.ref !== false
    this.refd[slot] = ref ? 1 : 0
    if (ref && this.refs++ === 0) this.watcher.ref()
    this.queueFlush()
    return this.slots.idOf(slot)
  }

  private queueFlush(): void {
    if (this.flushQueued || this.dispatching) return
    this.flushQueued = true
    queueMicrotask(this.flushTask)
  }

  private flush(): void {
    this.flushQueued = false
    if (this._closed) return
    this.runPreSubmit()
    this.submitNow()
  }

  beforeSubmit(task: () => void): void {
    this.checkOpen()
    this.preSubmit.push(task)
    this.queueFlush()
  }

  private runPreSubmit(): void {
    // Tasks may queue more tasks (and SQEs): run until none is left.
    for (let i = 0; i < this.preSubmit.length; i++) this.preSubmit[i]!()
    this.preSubmit.length = 0
  }

  /** One io_uring_enter; once everything prepared was submitted, the iovec arena is free again. */
  private enter(getEvents: boolean): number {
    const r = this.ring.submit(getEvents)
    if (this.ring.unsubmitted === 0) this.iovUsed = 0
    return r
  }

  /** Hands every prepared SQE to the kernel; reaps first if the kernel says the CQ is backed up. */
  private submitNow(): void {
    while (this.ring.unsubmitted > 0) {
      const r = this.enter(false)
      if (r < 0) {
        // EBUSY/EAGAIN: completions must be reaped before more can be submitted.
        this.enter(true)
        const err = this.dispatch()
        if (err !== undefined) queueMicrotask(() => { throw err })
      }
    }
  }

  private onWake(): void {
    if (this._closed) return
    read(this.efd, this.efdBuf, 8) // reset the eventfd before reaping: a later post wakes us again
    this.dispatching = true
    let first: unknown = undefined
    try {
      if (this.enter(true) < 0) this.enter(true)
      for (let round = 0; round < MAX_ROUNDS && !this._closed; round++) {
        first ??= this.dispatch()
        if (this._closed) break
        this.runPreSubmit()
        // Completions that overflowed the CQ wait in the kernel for the next GETEVENTS.
        if (this.ring.unsubmitted === 0 && !this.ring.cqOverflowed()) break
        // One enter submits what the callbacks queued and runs task work, so
        // what completes inline (a send that fit the socket buffer) is reaped in
        // this wakeup rather than the next. The eventfd is not read here: under
        // DEFER_TASKRUN its signal means "task work pending", which only an
        // enter with GETEVENTS turns into CQEs.
        if (this.enter(true) < 0) this.submitNow()
        if (this.ring.cqHead() === this.ring.cqTail()) break
      }
      if (!this._closed) {
        this.runPreSubmit()
        this.submitNow()
      }
    } finally {
      this.dispatching = false
      if (this._closed) this.release()
    }
    if (first !== undefined) throw first
  }

  /** Delivers every posted CQE. Returns the first error a target threw (after delivering the rest). */
  private dispatch(): unknown {
    const ring = this.ring
    const cq32 = ring.cq32
    const cqI32 = ring.cqI32
    const mask = ring.cqMask
    const base = ring.cqesWord
    let first: unknown = undefined
    let head = ring.cqHead()
    let tail = ring.cqTail()
    while (head !== tail) {
      while (head !== tail) {
        const e = base + ((head & mask) << 2)
        const slot = cq32[e]!
        const gen = cq32[e + 1]!
        const res = cqI32[e + 2]!
        const flags = cq32[e + 3]!
        head = (head + 1) >>> 0
        const target = this.slots.lookup(slot, gen)
        if (target === null) continue
        if ((flags & IORING_CQE_F_MORE) === 0) this.finish(slot)
        try {
          target.complete(res, flags)
        } catch (err) {
          if (first === undefined) first = err
        }
        // A target may close the proactor: the ring's memory must not be touched after.
        if (this._closed) return first
      }
      // Release what we read before looking for more.
      ring.cqAdvance(head)
      tail = ring.cqTail()
    }
    return first
  }

  private finish(slot: number): void {
    if (this.refd[slot] === 1 && --this.refs === 0) this.watcher.unref()
    this.slots.release(slot)
  }

  private checkOpen(): void {
    if (this._closed) throw new Error('ringio: the io_uring proactor is closed')
  }

  /** Frees the kernel objects: the watcher, buffer rings, the ring (which cancels what is in flight) and the eventfd. */
  private release(): void {
    this.watcher.close()
    for (const g of [...this.groups.values()]) g.close()
    this.ring.close()
    sysClose(this.efd)
  }

  private shutdownAll(): void {
    if (this._closed) return
    this._closed = true
    // Inside a dispatch the ring is still being read: it is released when the dispatch ends.
    if (!this.dispatching) this.release()
    const live = [...this.slots.liveTargets()]
    for (const [slot] of live) this.finish(slot)
    let first: unknown = undefined
    for (const [, target] of live) {
      try {
        target.complete(-125, 0)
      } catch (err) {
        first ??= err
      }
    }
    if (first !== undefined) throw first
  }
}
