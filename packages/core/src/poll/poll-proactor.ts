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
 * file starts an op: its spec (`ops/`) checks it and says its route, which
 * `start` follows.
 *
 * @packageDocumentation
 */
import { checkInt, IoError } from '../errors.js'
import type { BufferGroup } from '../buffer-group.js'
import type { Completion, OpId, StartOptions } from '../completion.js'
import type { Op, OpKind } from '../ops/op.js'
import { PollRoute, type PollContext } from '../ops/op-spec.js'
import { specOf, specOfKind } from '../ops/specs.js'
import type { Proactor } from '../proactor.js'
import { ECANCELED, ENOSYS } from '../sys/errno.js'
import { onSyncClose } from '../sys/close-hooks.js'
import { PollBufferGroup } from './buffer-group.js'
import { State } from './op.js'
import { OpRunner } from './op-runner.js'
import * as sys from './sys.js'

/**
 * Creates the poll backend.
 *
 * ## Example
 * ```ts
 * const p = createPollProactor()
 * p.start({ kind: 'timeout', ms: 10, repeat: false }, { complete: (res) => console.log(res === -62) }) // -ETIME
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
  private readonly ctx: PollContext = {
    group: (g) => {
      if (!(g instanceof PollBufferGroup) || !this.groups.has(g)) throw new TypeError('group must be a live BufferGroup of this proactor')
      return g
    },
    dropFd: (fd) => this.readiness.dropFd(fd, -ECANCELED),
  }
  // An fd closed with closeSync (error paths, a losing happy-eyeballs attempt) loses its idle poll handle too.
  private readonly forgetOnClose = onSyncClose((fd) => this.readiness.dropFd(fd, -ECANCELED))

  get closed(): boolean {
    return this.closedFlag
  }

  get pending(): number {
    return this.table.live
  }

  supports(op: OpKind | number): boolean {
    if (typeof op === 'number') return false // no io_uring opcodes here
    const spec = specOfKind(op)
    return spec !== undefined && spec.poll.route !== PollRoute.None
  }

  beforeSubmit(task: () => void): void {
    if (this.closedFlag) throw new Error('ringio: the poll proactor is closed')
    // The reactor submits each syscall at once; a microtask is this turn's batch point.
    queueMicrotask(task)
  }

  start(op: Op, c: Completion, opts?: StartOptions): OpId {
    const spec = specOf(op)
    spec.check?.(op)
    const form = spec.poll
    if (form.route === PollRoute.None) {
      this.assertOpen()
      throw new IoError(ENOSYS, spec.errorName, undefined, { message: `${spec.errorName}: not available on the poll backend` })
    }
    const fd = form.fd !== undefined ? form.fd(op) : ((op as { fd?: number }).fd ?? -1)
    const slot = this.begin(op, spec, fd, c, opts)
    const rec = this.ops[slot]!
    if (form.start !== undefined) {
      try {
        form.start(op, rec, this.ctx)
      } catch (e) {
        rec.clear()
        this.table.release(slot)
        throw e
      }
    }
    switch (form.route) {
      case PollRoute.Now:
        this.finish(slot, form.now!(op, this.ctx), 0)
        break
      case PollRoute.Timer: {
        rec.state = State.Timer
        const cb = (this.timerCbs[slot] ??= () => this.timerFired(slot))
        rec.timer = rec.multishot ? setInterval(cb, Math.max(1, rec.events)) : setTimeout(cb, rec.events)
        if (!rec.ref) rec.timer.unref()
        break
      }
      case PollRoute.Fd:
        return this.dispatch(slot, form.dir!)
      case PollRoute.Socket:
        // Always the reactor: the attempt's MSG_DONTWAIT makes even a blocking socket safe to try.
        this.readiness.submit(slot, form.dir!)
        break
      case PollRoute.Pool:
        return this.blocking(slot)
      case PollRoute.Watch:
        this.readiness.submit(slot, 'poll')
        break
      case PollRoute.Gated:
        if (!this.gateRead(slot)) return this.blocking(slot)
        break
    }
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

  socket(domain: number, type: number, protocol: number): number {
    this.assertOpen()
    // Ours, so non-blocking from birth: no F_SETFL ever, on anything.
    const fd = sys.socket(domain, type | sys.SOCK_NONBLOCK | sys.SOCK_CLOEXEC, protocol)
    if (fd < 0) throw new IoError(sys.errno(), 'socket')
    return fd
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

  shutdown(): void {
    if (this.closedFlag) return
    this.closedFlag = true
    this.forgetOnClose()
    for (const [slot] of this.table.liveTargets()) this.abandon(slot)
    this.readiness.closeAll()
    this.shared.close()
    for (const g of [...this.groups]) g.close()
    this.probe.close()
    // Deliver now, in order: targets learn of the shutdown before close() returns.
    this.queue.drain()
  }
}
