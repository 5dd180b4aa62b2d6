/**
 * The fallback backend: the {@link Proactor} contract over a readiness
 * reactor, for when io_uring is unavailable (seccomp, `io_uring_disabled`,
 * not Linux). Sockets and other O_NONBLOCK fds are tried first and polled on
 * EAGAIN through one libuv poll handle per fd (`readiness.ts`); blocking fds
 * and files go to the threadpool (`threadpool.ts`). Completions carry the
 * kernel's `res` convention and `IORING_CQE_F_*` flags, exactly as io_uring
 * would post them, and are delivered in order from one `setImmediate` per
 * loop turn (`completion-queue.ts`).
 *
 * Running ops to those completions is {@link OpRunner} (`op-runner.ts`); this
 * file checks each operation's arguments and fills its op record.
 *
 * @packageDocumentation
 */
import { checkBytes, checkInt, IoError } from '../errors.js'
import type { BufferGroup, Completion, OpId, OpName, Proactor, StartOptions } from '../proactor.js'
import { addressOf } from '../sys/libc.js'
import { STATX_SIZE } from '../uring/abi.js'
import { PollBufferGroup } from './buffer-group.js'
import { buildIovec, Kind, State } from './op.js'
import { OpRunner } from './op-runner.js'
import type { Direction } from './readiness.js'
import * as sys from './sys.js'
import { ECANCELED } from '../sys/errno.js'


/**
 * Creates the poll backend.
 *
 * ## Example
 * ```ts
 * const p = createPollProactor()
 * p.timeout(10, false, { complete: (res) => console.log(res === -62) }) // -ETIME
 * ```
 *
 * # Limits
 * - Threadpool calls (files, blocking fds, fsync, openat) cannot be
 *   interrupted: see `threadpool.ts` for what `cancel` then reports. They
 *   keep the process alive whatever `ref` says (koffi's async work has no unref).
 * - libuv allows one poll handle per fd: an fd that Node itself is also
 *   watching (e.g. stdin read through `process.stdin`) cannot be read or
 *   written through the reactor here (`poll` is not affected).
 * - `poll` never goes through libuv's handle (which would set O_NONBLOCK on
 *   the user's fd): each pending poll is its own registration in the private
 *   epoll set, of the fd itself or, when the fd is already registered, of a
 *   close-on-exec duplicate (EMFILE when none is left). As io_uring's POLL_ADD: edge-triggered (ready now, then
 *   once per new wakeup), POLLERR/POLLHUP always reported, and an fd epoll
 *   refuses (a regular file) completes at once with its IN/OUT — a final
 *   completion even when multishot.
 */
export function createPollProactor(): Proactor {
  return new PollProactor()
}

class PollProactor extends OpRunner implements Proactor {
  readonly backend = 'poll' as const
  private readonly groups = new Set<PollBufferGroup>()
  private nextGroupId = 0

  get closed(): boolean {
    return this.closedFlag
  }

  get pending(): number {
    return this.table.live
  }

  supports(op: OpName): boolean {
    return op !== 'sendZc' // no zero-copy notification to emulate honestly
  }

  beforeSubmit(task: () => void): void {
    if (this.closedFlag) throw new Error('ringio: the poll proactor is closed')
    // The reactor submits each syscall at once; a microtask is this turn's batch point.
    queueMicrotask(task)
  }

  // ---- operations ----

  nop(c: Completion, opts?: StartOptions): OpId {
    const slot = this.begin(Kind.Nop, -1, c, null, opts)
    this.finish(slot, 0, 0)
    return this.table.idOf(slot)
  }

  timeout(ms: number, repeat: boolean, c: Completion, opts?: StartOptions): OpId {
    if (typeof ms !== 'number' || !(ms >= 0 && ms <= 2 ** 31 - 1)) throw new RangeError(`ms must be a number in 0..2^31-1, got ${String(ms)}`)
    // Timers have millisecond resolution here: round up so a timer never fires early.
    const delay = Math.ceil(ms)
    const slot = this.begin(Kind.Timeout, -1, c, null, opts)
    const op = this.ops[slot]!
    op.multishot = repeat
    op.state = State.Timer
    const cb = (this.timerCbs[slot] ??= () => this.timerFired(slot))
    op.timer = repeat ? setInterval(cb, Math.max(1, delay)) : setTimeout(cb, delay)
    if (!op.ref) op.timer.unref()
    return this.table.idOf(slot)
  }

  cancel(id: OpId): void {
    const slot = this.table.slotOf(id)
    if (slot < 0) return
    const op = this.ops[slot]!
    switch (op.state) {
      case State.Pool:
        op.cancelAsked = true // reported when the call returns
        return
      case State.Timer:
        clearTimeout(op.timer!) // clears intervals too
        op.timer = null
        break
      case State.Waiting:
        if (op.gate) this.shared.remove(slot)
        else this.readiness.remove(slot)
        break
      default:
        return // final completion already queued: it stands
    }
    this.finish(slot, -ECANCELED, 0)
  }

  read(fd: number, buf: Uint8Array, offset: number, c: Completion, opts?: StartOptions): OpId {
    return this.rw(Kind.Read, fd, checkBytes('buf', buf), offset, c, opts)
  }

  write(fd: number, buf: Uint8Array, offset: number, c: Completion, opts?: StartOptions): OpId {
    return this.rw(Kind.Write, fd, checkBytes('buf', buf), offset, c, opts)
  }

  readv(fd: number, bufs: readonly Uint8Array[], offset: number, c: Completion, opts?: StartOptions): OpId {
    return this.rwv(Kind.Readv, fd, bufs, offset, c, opts)
  }

  writev(fd: number, bufs: readonly Uint8Array[], offset: number, c: Completion, opts?: StartOptions): OpId {
    return this.rwv(Kind.Writev, fd, bufs, offset, c, opts)
  }

  fsync(fd: number, datasync: boolean, c: Completion, opts?: StartOptions): OpId {
    const slot = this.begin(Kind.Fsync, fd, c, null, opts)
    this.ops[slot]!.flags = datasync ? 1 : 0
    return this.blocking(slot)
  }

  openat(dirfd: number, path: Uint8Array, flags: number, mode: number, c: Completion, opts?: StartOptions): OpId {
    checkBytes('path', path)
    if (path[path.length - 1] !== 0) throw new TypeError('path must be NUL-terminated')
    const slot = this.begin(Kind.Openat, dirfd, c, path, opts)
    const op = this.ops[slot]!
    op.buf = path
    op.flags = flags
    op.mode = mode
    return this.blocking(slot)
  }

  statx(dirfd: number, path: Uint8Array, flags: number, mask: number, buf: Uint8Array, c: Completion, opts?: StartOptions): OpId {
    checkBytes('path', path)
    checkBytes('buf', buf)
    // The call reads the path up to its NUL and writes a whole struct statx: check both before a worker does.
    if (path[path.length - 1] !== 0) throw new TypeError('path must be NUL-terminated')
    if (buf.length < STATX_SIZE) throw new RangeError(`buf must hold a struct statx (${STATX_SIZE} bytes), got ${buf.length}`)
    const slot = this.begin(Kind.Statx, dirfd, c, [path, buf], opts)
    const op = this.ops[slot]!
    op.buf = path
    op.out = buf
    op.flags = flags
    op.mode = mask
    return this.blocking(slot)
  }

  fallocate(fd: number, mode: number, offset: number, len: number, c: Completion, opts?: StartOptions): OpId {
    const slot = this.begin(Kind.Fallocate, fd, c, null, opts)
    const op = this.ops[slot]!
    op.mode = mode
    op.offset = offset
    op.length = len
    return this.blocking(slot)
  }

  ftruncate(fd: number, length: number, c: Completion, opts?: StartOptions): OpId {
    const slot = this.begin(Kind.Ftruncate, fd, c, null, opts)
    this.ops[slot]!.offset = length
    return this.blocking(slot)
  }

  socket(domain: number, type: number, protocol: number): number {
    this.assertOpen()
    // Ours, so non-blocking from birth: no F_SETFL ever, on anything.
    const fd = sys.socket(domain, type | sys.SOCK_NONBLOCK | sys.SOCK_CLOEXEC, protocol)
    if (fd < 0) throw new IoError(sys.errno(), 'socket')
    return fd
  }

  accept(fd: number, multishot: boolean, c: Completion, opts?: StartOptions): OpId {
    const slot = this.begin(Kind.Accept, fd, c, null, opts)
    this.ops[slot]!.multishot = multishot
    return this.dispatch(slot, 'read')
  }

  connect(fd: number, addr: Uint8Array, c: Completion, opts?: StartOptions): OpId {
    const slot = this.begin(Kind.Connect, fd, c, checkBytes('addr', addr), opts)
    this.ops[slot]!.buf = addr
    return this.dispatch(slot, 'write')
  }

  recv(fd: number, buf: Uint8Array, flags: number, c: Completion, opts?: StartOptions): OpId {
    return this.sock(Kind.Recv, 'read', fd, checkBytes('buf', buf), flags, buf, c, opts)
  }

  recvMultishot(fd: number, group: BufferGroup, c: Completion, opts?: StartOptions): OpId {
    if (!(group instanceof PollBufferGroup) || !this.groups.has(group)) {
      throw new TypeError('group must be a live BufferGroup of this proactor')
    }
    const slot = this.begin(Kind.RecvMulti, fd, c, group, opts)
    const op = this.ops[slot]!
    op.group = group
    op.multishot = true
    this.readiness.submit(slot, 'read')
    return this.table.idOf(slot)
  }

  recvmsgMultishot(fd: number, msg: Uint8Array, flags: number, group: BufferGroup, c: Completion, opts?: StartOptions): OpId {
    checkBytes('msg', msg)
    if (msg.length < 56) throw new RangeError('msg must be a struct msghdr (56 bytes)')
    if (!(group instanceof PollBufferGroup) || !this.groups.has(group)) {
      throw new TypeError('group must be a live BufferGroup of this proactor')
    }
    const slot = this.begin(Kind.RecvmsgMulti, fd, c, [group, msg], opts)
    const op = this.ops[slot]!
    op.group = group
    op.multishot = true
    op.flags = flags
    // As the kernel, the room to reserve comes from the msghdr: msg_namelen (u32 at 8), msg_controllen (size_t at 40).
    const dv = new DataView(msg.buffer, msg.byteOffset, msg.byteLength)
    op.nameSpace = dv.getUint32(8, true)
    op.controlSpace = dv.getUint32(40, true)
    this.readiness.submit(slot, 'read')
    return this.table.idOf(slot)
  }

  /** No zero-copy on the reactor: a plain send, whose single completion also means the buffer is free. */
  sendZc(fd: number, buf: Uint8Array, flags: number, c: Completion, opts?: StartOptions): OpId {
    return this.send(fd, buf, flags, c, opts)
  }

  send(fd: number, buf: Uint8Array, flags: number, c: Completion, opts?: StartOptions): OpId {
    return this.sock(Kind.Send, 'write', fd, checkBytes('buf', buf), flags, buf, c, opts)
  }

  sendmsg(fd: number, msg: Uint8Array, flags: number, keep: unknown, c: Completion, opts?: StartOptions): OpId {
    return this.sock(Kind.Sendmsg, 'write', fd, checkBytes('msg', msg), flags, [msg, keep], c, opts)
  }

  recvmsg(fd: number, msg: Uint8Array, flags: number, keep: unknown, c: Completion, opts?: StartOptions): OpId {
    return this.sock(Kind.Recvmsg, 'read', fd, checkBytes('msg', msg), flags, [msg, keep], c, opts)
  }

  shutdown(fd: number, how: number, c: Completion, opts?: StartOptions): OpId {
    const slot = this.begin(Kind.Shutdown, fd, c, null, opts)
    this.finish(slot, sys.result(sys.shutdown(fd, how)), 0) // never blocks
    return this.table.idOf(slot)
  }

  poll(fd: number, events: number, multishot: boolean, c: Completion, opts?: StartOptions): OpId {
    const slot = this.begin(Kind.Poll, fd, c, null, opts)
    const op = this.ops[slot]!
    op.flags = events
    op.multishot = multishot
    this.readiness.submit(slot, 'poll')
    return this.table.idOf(slot)
  }

  bufferGroup(count: number, size: number): BufferGroup {
    this.assertOpen()
    checkInt('count', count, 1, 1 << 15)
    if ((count & (count - 1)) !== 0) throw new RangeError(`count must be a power of two, got ${count}`)
    checkInt('size', size, 1, 1 << 30)
    const g = new PollBufferGroup(this.nextGroupId++, count, size, (x) => this.groups.delete(x))
    this.groups.add(g)
    return g
  }

  /** `close()`: shuts the backend down. `close(fd, c)`: closes `fd` after failing its pending ops with `-ECANCELED`. */
  close(): void
  close(fd: number, c: Completion, opts?: StartOptions): OpId
  close(fd?: number, c?: Completion, opts?: StartOptions): OpId | void {
    if (fd === undefined) return this.shutdownAll()
    const slot = this.begin(Kind.Close, fd, c!, null, opts)
    // Watcher first: libuv must never watch a closed (and maybe reused) fd number.
    this.readiness.dropFd(fd, -ECANCELED)
    this.finish(slot, sys.result(sys.close(fd)), 0)
    return this.table.idOf(slot)
  }

  // ---- internals ----

  private rw(kind: number, fd: number, buf: Uint8Array, offset: number, c: Completion, opts?: StartOptions): OpId {
    const slot = this.begin(kind, fd, c, buf, opts)
    const op = this.ops[slot]!
    op.buf = buf
    op.offset = offset
    return this.dispatch(slot, kind === Kind.Read ? 'read' : 'write')
  }

  private rwv(kind: number, fd: number, bufs: readonly Uint8Array[], offset: number, c: Completion, opts?: StartOptions): OpId {
    bufs.forEach((b, i) => checkBytes(`bufs[${i}]`, b))
    const iov = buildIovec(bufs, addressOf)
    // A copy of the array: the iovec holds raw addresses, so these exact Buffers must stay alive.
    const slot = this.begin(kind, fd, c, [bufs.slice(), iov], opts)
    const op = this.ops[slot]!
    op.iov = iov
    op.iovCount = bufs.length
    op.offset = offset
    return this.dispatch(slot, kind === Kind.Readv ? 'read' : 'write')
  }

  /** recv/send/recvmsg/sendmsg: always the reactor (MSG_DONTWAIT makes even a blocking socket safe to try). */
  private sock(kind: number, dir: Direction, fd: number, buf: Uint8Array, flags: number, keep: unknown, c: Completion, opts?: StartOptions): OpId {
    const slot = this.begin(kind, fd, c, keep, opts)
    const op = this.ops[slot]!
    op.buf = buf
    op.flags = flags
    this.readiness.submit(slot, dir)
    return this.table.idOf(slot)
  }

  private shutdownAll(): void {
    if (this.closedFlag) return
    this.closedFlag = true
    for (const [slot] of this.table.liveTargets()) this.abandon(slot)
    this.readiness.closeAll()
    this.shared.close()
    for (const g of [...this.groups]) g.close()
    this.probe.close()
    // Deliver now, in order: targets learn of the shutdown before close() returns.
    this.queue.drain()
  }
}
