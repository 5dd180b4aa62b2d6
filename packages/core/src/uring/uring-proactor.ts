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
 * starts ops: each op's own file in `ops/` writes its SQE through the
 * {@link UringPrep} this proactor lends it (timespecs and iovecs that live
 * until the enter, buffer selection). Receives that select their buffer
 * from a ring complete through `buffer-select.ts`.
 *
 * @packageDocumentation
 */
import type { BufferGroup } from '../buffer-group.js'
import type { Completion, OpId, StartOptions } from '../completion.js'
import { IoError } from '../errors.js'
import type { Op, OpKind } from '../ops/op.js'
import type { UringPrep } from '../ops/op-spec.js'
import { specOf, specOfKind } from '../ops/specs.js'
import type { Proactor } from '../proactor.js'
import { addressOf, errno, SOCK_CLOEXEC, socket } from '../sys/libc.js'
import { IORING_FEAT_CQE_SKIP, IORING_FEAT_SUBMIT_STABLE, IOSQE_CQE_SKIP_SUCCESS, Op as Opcode } from './abi.js'
import { BufferRing } from './buffer-ring.js'
import { ringOf, selectFor, type BufferSelectCompletion } from './buffer-select.js'
import { CompletionLoop, IGNORED_SLOT } from './completion-loop.js'
import { prepRw, setAddrUserData, setFlags, setUserData } from './prep.js'
import { probeOps } from './probe.js'
import type { RingOptions } from './ring.js'

const TWO32 = 2 ** 32
/** iovecs in the per-batch arena (16 bytes each). */
const IOV_ARENA_ENTRIES = 4096

/** The io_uring {@link Proactor}. Create it through `getProactor()`, one per Node environment. */
export class UringProactor extends CompletionLoop implements Proactor, UringPrep {
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
  // Set while an op's encoder runs: the target it completes (replaced by a
  // buffer-select wrapper when it picks buffers), and memory of its own to keep.
  private target: Completion | null = null
  private extraKeep: Buffer | null = null

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

  /** @internal {@link UringPrep}: the SQ array. */
  get sqe32(): Uint32Array {
    return this.ring.sqe32
  }

  supports(op: OpKind | number): boolean {
    if (typeof op === 'number') return this.supported[op] === 1
    const spec = specOfKind(op)
    if (spec === undefined) return false
    return spec.opcode < 0 || this.supported[spec.opcode] === 1
  }

  start(op: Op, c: Completion, opts?: StartOptions): OpId {
    const spec = specOf(op)
    spec.check?.(op)
    const w = this.sqe()
    this.target = c
    let keep: unknown
    try {
      keep = spec.uring(op, this, w)
    } catch (e) {
      // The SQE is taken: turn it into a NOP nobody waits for, so no stale SQE reaches the kernel.
      this.target = null
      this.extraKeep = null
      prepRw(this.ring.sqe32, w, Opcode.NOP, -1, 0, 0, 0)
      if (this.skipCancelCqe) setFlags(this.ring.sqe32, w, IOSQE_CQE_SKIP_SUCCESS, 0)
      setUserData(this.ring.sqe32, w, IGNORED_SLOT, 0)
      throw e
    }
    const target = this.target
    this.target = null
    if (this.extraKeep !== null) {
      keep = [this.extraKeep, keep]
      this.extraKeep = null
    }
    return this.commit(w, target, keep, opts)
  }

  cancel(id: OpId): void {
    if (this._closed) return
    const slot = this.slots.slotOf(id)
    if (slot < 0) return
    const w = this.sqe()
    prepRw(this.ring.sqe32, w, Opcode.ASYNC_CANCEL, -1, 0, 0, 0)
    setAddrUserData(this.ring.sqe32, w, slot, this.slots.gen(slot))
    // The cancel's own CQE is of no interest (the target gets -ECANCELED).
    if (this.skipCancelCqe) setFlags(this.ring.sqe32, w, IOSQE_CQE_SKIP_SUCCESS, 0)
    setUserData(this.ring.sqe32, w, IGNORED_SLOT, 0)
    this.queueFlush()
  }

  shutdown(): void {
    this.shutdownAll()
  }

  socket(domain: number, type: number, protocol: number): number {
    this.checkOpen()
    // Blocking on purpose: for an O_NONBLOCK socket io_uring returns EAGAIN
    // instead of arming its internal poll.
    const fd = socket(domain, type | SOCK_CLOEXEC, protocol)
    if (fd < 0) throw new IoError(errno(), 'socket')
    return fd
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

  // ---- UringPrep: what an op's encoder borrows ----

  /** @internal */
  timespec(w: number, ms: number): number {
    const ts = w >> 2 // four timespec words per SQE index (w is index * 16)
    const sec = Math.floor(ms / 1000)
    this.timespec32[ts] = sec % TWO32
    this.timespec32[ts + 1] = (sec / TWO32) >>> 0
    this.timespec32[ts + 2] = Math.round((ms - sec * 1000) * 1e6)
    this.timespec32[ts + 3] = 0
    return this.timespecAddr + ts * 4
  }

  /** @internal */
  iovec(bufs: readonly Uint8Array[]): number {
    const n = bufs.length
    let at: number
    let iov: Uint32Array
    let iovAddr: number
    // The SQE is already taken (taking it may submit, which recycles the arena).
    if (this.stableSubmit && this.iovUsed + n <= IOV_ARENA_ENTRIES) {
      // IORING_FEAT_SUBMIT_STABLE: the kernel has read the iovec array once the
      // SQE is submitted, so iovecs come from an arena reset after each enter.
      at = this.iovUsed * 4
      this.iovUsed += n
      iov = this.iovArena32
      iovAddr = this.iovArenaAddr + at * 4
    } else {
      const own = Buffer.allocUnsafeSlow(n * 16)
      iov = new Uint32Array(own.buffer, own.byteOffset, n * 4)
      at = 0
      iovAddr = addressOf(own)
      this.extraKeep = own
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
    return iovAddr
  }

  /** @internal */
  bufferSelect(group: BufferGroup, op: string): boolean {
    const s: BufferSelectCompletion = selectFor(ringOf(this.groups, group, op), this.target!)
    this.target = s
    return s.drained
  }
}
