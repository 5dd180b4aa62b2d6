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
 * That route is {@link CompletionLoop} (`completion-loop.ts`); this file
 * prepares the SQE of each operation. Receives that select their buffer
 * from a ring complete through `buffer-select.ts`.
 *
 * @packageDocumentation
 */
import type { BufferGroup, Completion, OpId, OpName, Proactor, StartOptions } from '../proactor.js'
import { IoError } from '../errors.js'
import { addressOf, errno, SOCK_CLOEXEC, socket } from '../sys/libc.js'
import {
  IORING_ACCEPT_MULTISHOT,
  IORING_FEAT_CQE_SKIP,
  IORING_FEAT_SUBMIT_STABLE,
  IORING_FSYNC_DATASYNC,
  IORING_POLL_ADD_MULTI,
  IORING_RECV_MULTISHOT,
  IORING_RECVSEND_POLL_FIRST,
  IORING_TIMEOUT_MULTISHOT,
  IOSQE_BUFFER_SELECT,
  IOSQE_CQE_SKIP_SUCCESS,
  Op,
  STATX_SIZE,
} from './abi.js'
import { BufferRing } from './buffer-ring.js'
import { ringOf, selectFor } from './buffer-select.js'
import { CompletionLoop } from './completion-loop.js'
import { prepRw, setAddrUserData, setBufGroup, setFlags, setOpFlags, setUserData } from './prep.js'
import { probeOps } from './probe.js'
import type { RingOptions } from './ring.js'

const TWO32 = 2 ** 32
/** user_data of internal SQEs whose CQE nobody waits for (cancels): no slot has this index. */
const IGNORED_SLOT = 0xffffffff
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
  statx: Op.STATX,
  fallocate: Op.FALLOCATE,
  ftruncate: Op.FTRUNCATE,
  accept: Op.ACCEPT,
  connect: Op.CONNECT,
  recv: Op.RECV,
  recvMultishot: Op.RECV,
  recvmsgMultishot: Op.RECVMSG,
  send: Op.SEND,
  sendZc: Op.SEND_ZC,
  sendmsg: Op.SENDMSG,
  recvmsg: Op.RECVMSG,
  shutdown: Op.SHUTDOWN,
  poll: Op.POLL_ADD,
}

/** The io_uring {@link Proactor}. Create it through `getProactor()`, one per Node environment. */
export class UringProactor extends CompletionLoop implements Proactor {
  readonly backend = 'uring' as const
  private readonly supported: Uint8Array
  private readonly skipCancelCqe: boolean
  // One timespec per SQE: the kernel copies it while the SQE is submitted, so
  // SQE i's timespec only has to live until the next enter.
  private readonly timespecs: Buffer
  private readonly timespec32: Uint32Array
  private readonly timespecAddr: number
  private readonly stableSubmit: boolean
  private readonly iovArena32: Uint32Array
  private readonly iovArenaAddr: number
  private nextGroupId = 1

  constructor(opts: RingOptions = {}) {
    super(opts)
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
    } catch (err) {
      // The ring, its eventfd and watcher exist by now: free them all.
      this.release()
      throw err
    }
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
    if (datasync) setOpFlags(this.ring.sqe32, w, IORING_FSYNC_DATASYNC)
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

  statx(dirfd: number, path: Uint8Array, flags: number, mask: number, buf: Uint8Array, c: Completion, opts?: StartOptions): OpId {
    // The kernel reads the path up to its NUL and writes a whole struct statx: check both before they reach it.
    if (path.length === 0 || path[path.length - 1] !== 0) throw new TypeError('statx: path must be NUL-terminated')
    if (buf.length < STATX_SIZE) throw new RangeError(`statx: buf must hold a struct statx (${STATX_SIZE} bytes), got ${buf.length}`)
    const w = this.sqe()
    // As liburing's io_uring_prep_statx: path in addr, mask in len, the statx buffer's address in off.
    prepRw(this.ring.sqe32, w, Op.STATX, dirfd, addressOf(path), mask, addressOf(buf))
    setOpFlags(this.ring.sqe32, w, flags)
    return this.commit(w, c, [path, buf], opts)
  }

  fallocate(fd: number, mode: number, offset: number, len: number, c: Completion, opts?: StartOptions): OpId {
    const w = this.sqe()
    // As liburing's io_uring_prep_fallocate: the length in addr, the mode in len, the offset in off.
    prepRw(this.ring.sqe32, w, Op.FALLOCATE, fd, len, mode, offset)
    return this.commit(w, c, undefined, opts)
  }

  ftruncate(fd: number, length: number, c: Completion, opts?: StartOptions): OpId {
    const w = this.sqe()
    // As liburing's io_uring_prep_ftruncate: the length in off; addr, len and the flags word stay 0
    // (the kernel rejects the SQE with EINVAL otherwise).
    prepRw(this.ring.sqe32, w, Op.FTRUNCATE, fd, 0, 0, length)
    return this.commit(w, c, undefined, opts)
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

  /**
   * Issued as a single-shot buffer-select RECV: the contract lets a backend
   * end the receive after any completion (no `MORE`), and callers re-arm.
   *
   * Why not `IORING_RECV_MULTISHOT` (kernel behaviour, seen on 6.18.44): on a
   * stream socket with a slow reader the multishot runs long streaks of
   * completions flagged `SOCK_NONEMPTY`, requeued every 32 loops
   * (`IOU_REQUEUE`); each retry raises the request's poll refs, which then
   * pass `IO_POLL_REF_BIAS`, after which a wakeup only sets
   * `IO_POLL_RETRY_FLAG`. A segment that lands while the streak's last recv
   * finds the socket empty is then never noticed; if it fills the receive
   * buffer no later wakeup comes and both ends wait forever
   * (packages/net/test/stall.test.ts reproduces it in seconds). A
   * single-shot RECV arms a fresh one-shot poll each time and never
   * accumulates refs, so it cannot lose the wakeup. Re-signalling readiness
   * with `setsockopt(SO_RCVLOWAT)` after a drained completion was measured
   * too (it made the stall test pass) but misses a wakeup lost after a recv
   * that found nothing and posted no completion: it is not robust.
   * The cost, one SQE per received chunk, goes into the same enter as the
   * rest of the turn's SQEs (bench/results, issue 12's note).
   */
  recvMultishot(fd: number, group: BufferGroup, c: Completion, opts?: StartOptions): OpId {
    const s = selectFor(ringOf(this.groups, group, 'recvMultishot'), c)
    const w = this.sqe()
    prepRw(this.ring.sqe32, w, Op.RECV, fd, 0, 0, 0)
    // The last receive emptied the socket: arm the poll at once instead of a
    // recv that would find nothing (a hint only: ready data is seen either way).
    setFlags(this.ring.sqe32, w, IOSQE_BUFFER_SELECT, s.drained ? IORING_RECVSEND_POLL_FIRST : 0)
    setBufGroup(this.ring.sqe32, w, group.id)
    return this.commit(w, s, undefined, opts)
  }

  recvmsgMultishot(fd: number, msg: Uint8Array, flags: number, group: BufferGroup, c: Completion, opts?: StartOptions): OpId {
    const ring = ringOf(this.groups, group, 'recvmsgMultishot')
    const w = this.sqe()
    // As liburing's io_uring_prep_recvmsg_multishot: RECVMSG, ioprio |= IORING_RECV_MULTISHOT.
    // The kernel reads the msghdr's namelen/controllen for each message: `msg` stays kept.
    prepRw(this.ring.sqe32, w, Op.RECVMSG, fd, addressOf(msg), 1, 0)
    setOpFlags(this.ring.sqe32, w, flags)
    setFlags(this.ring.sqe32, w, IOSQE_BUFFER_SELECT, IORING_RECV_MULTISHOT)
    setBufGroup(this.ring.sqe32, w, group.id)
    return this.commit(w, selectFor(ring, c), msg, opts)
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
}
