/**
 * One io_uring instance: setup, the three mappings, and in-place typed-array
 * views of the SQ ring, CQ ring and SQE array. Pure mechanism — no slots,
 * no event loop; `uring-proactor.ts` drives it.
 *
 * Memory ordering: the kernel reads our SQ tail and writes its SQ head and CQ
 * tail concurrently. Each of those is read or written with `Atomics` (a
 * sequentially consistent access, which is at least the acquire/release
 * liburing uses), so V8 can neither reorder nor cache them; plain typed-array
 * accesses are used only for memory the other side does not touch at the time
 * (an SQE before its tail is published, a CQE after its tail was read).
 *
 * @packageDocumentation
 */
import { IoError } from '../errors.js'
import { EAGAIN, EBUSY, EINTR, EINVAL } from '../sys/errno.js'
import { close, errno, mmapShared, munmap, sys2, sys4buf, sys6, view } from '../sys/libc.js'
import {
  CQ_OFF,
  IORING_ENTER_GETEVENTS,
  IORING_FEAT_SINGLE_MMAP,
  IORING_OFF_CQ_RING,
  IORING_OFF_SQ_RING,
  IORING_OFF_SQES,
  IORING_SETUP_CLAMP,
  IORING_SETUP_CQSIZE,
  IORING_SETUP_DEFER_TASKRUN,
  IORING_SETUP_SINGLE_ISSUER,
  IORING_SETUP_SUBMIT_ALL,
  IORING_SQ_CQ_OVERFLOW,
  PARAMS,
  SQ_OFF,
  SQE,
  SYS_io_uring_enter,
  SYS_io_uring_register,
  SYS_io_uring_setup,
} from './abi.js'

/** Ring sizes. */
export interface RingOptions {
  /** SQ entries (rounded up to a power of two by the kernel). Default 1024. */
  entries?: number
  /** CQ entries; multishot operations post many CQEs per SQE, so the default is 8x `entries`. */
  cqEntries?: number
  /**
   * Operations started outside a completion dispatch (from Promise
   * continuations, timers, I/O callbacks) go to the kernel as soon as this
   * many are prepared, instead of all together at the end of the microtask
   * checkpoint: the device starts on the first reads while JavaScript still
   * prepares the rest. Each early submission doubles the count for the next
   * one (8, then 16 more, 32 more…) until the checkpoint ends, so a long burst
   * still takes few `io_uring_enter`s. Default 8; 0 submits once per
   * checkpoint only.
   */
  submitBatch?: number
}


/** An io_uring instance and its mapped rings. Not thread-safe: SINGLE_ISSUER ties it to the creating thread. */
export class Ring {
  readonly fd: number
  readonly flags: number
  readonly features: number
  readonly sqEntries: number
  readonly cqEntries: number
  /** SQEs as 32-bit words: SQE `i` starts at word `i * 16`. */
  readonly sqe32: Uint32Array
  /** The CQ ring as 32-bit words; CQE `i` starts at word `cqesWord + i * 4`. */
  readonly cq32: Uint32Array
  /** The CQ ring as signed words, for `cqe.res`. */
  readonly cqI32: Int32Array
  readonly cqesWord: number
  readonly cqMask: number
  readonly cqHeadWord: number
  readonly cqTailWord: number
  private readonly sq32: Uint32Array
  private readonly sqMask: number
  private readonly sqHeadWord: number
  private readonly sqTailWord: number
  private readonly sqFlagsWord: number
  private readonly maps: [addr: number, len: number][] = []
  /** Our local SQ tail: SQEs up to here are prepared; the kernel sees them once published. */
  private sqTail = 0
  private submittedTail = 0
  /** The SQ head as last loaded from the kernel (never ahead of the real one). */
  private sqHeadSeen = 0
  private closed = false

  constructor(opts: RingOptions = {}) {
    const entries = opts.entries ?? 1024
    const cqEntries = opts.cqEntries ?? entries * 8
    const params = Buffer.alloc(PARAMS.SIZE)
    const base = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | IORING_SETUP_SUBMIT_ALL
    // DEFER_TASKRUN (6.1+) was the fastest measured; completions then only
    // post when we enter with GETEVENTS, which the eventfd wakeup does.
    let fd = -1
    for (const extra of [IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, 0]) {
      params.fill(0)
      params.writeUInt32LE(cqEntries, PARAMS.cq_entries)
      params.writeUInt32LE(base | extra, PARAMS.flags)
      fd = sys2(SYS_io_uring_setup, entries, params)
      if (fd >= 0 || errno() !== EINVAL) break
    }
    if (fd < 0) throw new IoError(errno(), 'io_uring_setup')
    this.fd = fd
    this.flags = params.readUInt32LE(PARAMS.flags)
    this.features = params.readUInt32LE(PARAMS.features)
    this.sqEntries = params.readUInt32LE(PARAMS.sq_entries)
    this.cqEntries = params.readUInt32LE(PARAMS.cq_entries)
    try {
      const sq = (f: number): number => params.readUInt32LE(PARAMS.sq_off + f)
      const cq = (f: number): number => params.readUInt32LE(PARAMS.cq_off + f)
      const sqSize = sq(SQ_OFF.array) + this.sqEntries * 4
      const cqSize = cq(CQ_OFF.cqes) + this.cqEntries * 16
      const single = (this.features & IORING_FEAT_SINGLE_MMAP) !== 0
      const sqLen = single ? Math.max(sqSize, cqSize) : sqSize
      const sqAddr = this.map(sqLen, IORING_OFF_SQ_RING)
      const cqAddr = single ? sqAddr : this.map(cqSize, IORING_OFF_CQ_RING)
      const sqesAddr = this.map(this.sqEntries * SQE.SIZE, IORING_OFF_SQES)
      this.sq32 = new Uint32Array(view(sqAddr, sqLen))
      const cqAb = single ? this.sq32.buffer : view(cqAddr, cqSize)
      this.cq32 = new Uint32Array(cqAb)
      this.cqI32 = new Int32Array(cqAb)
      const sqesAb = view(sqesAddr, this.sqEntries * SQE.SIZE)
      this.sqe32 = new Uint32Array(sqesAb)
      this.sqHeadWord = sq(SQ_OFF.head) >> 2
      this.sqTailWord = sq(SQ_OFF.tail) >> 2
      this.sqFlagsWord = sq(SQ_OFF.flags) >> 2
      this.sqMask = this.sq32[sq(SQ_OFF.ring_mask) >> 2]!
      this.cqHeadWord = cq(CQ_OFF.head) >> 2
      this.cqTailWord = cq(CQ_OFF.tail) >> 2
      this.cqMask = this.cq32[cq(CQ_OFF.ring_mask) >> 2]!
      this.cqesWord = cq(CQ_OFF.cqes) >> 2
      // The SQ index array never changes: SQE i goes in slot i, so fill the identity once.
      const arrayWord = sq(SQ_OFF.array) >> 2
      for (let i = 0; i < this.sqEntries; i++) this.sq32[arrayWord + i] = i
      this.sqTail = this.submittedTail = Atomics.load(this.sq32, this.sqTailWord)
      this.sqHeadSeen = Atomics.load(this.sq32, this.sqHeadWord)
    } catch (err) {
      this.close()
      throw err
    }
  }

  /** True once the ring was set up with DEFER_TASKRUN (completions post only on enter with GETEVENTS). */
  get deferTaskrun(): boolean {
    return (this.flags & IORING_SETUP_DEFER_TASKRUN) !== 0
  }

  /**
   * The word index of the next free SQE, or -1 when the SQ is full (submit
   * first). The SQE is not visible to the kernel until {@link submit}.
   */
  nextSqe(): number {
    // The kernel advances the head as it consumes SQEs. A stale head only
    // underestimates the free space, so reload it (atomically) only when the
    // ring looks full: one atomic load per batch instead of one per SQE.
    if (((this.sqTail - this.sqHeadSeen) >>> 0) >= this.sqEntries) {
      this.sqHeadSeen = Atomics.load(this.sq32, this.sqHeadWord)
      if (((this.sqTail - this.sqHeadSeen) >>> 0) >= this.sqEntries) return -1
    }
    const word = (this.sqTail & this.sqMask) << 4
    this.sqTail = (this.sqTail + 1) >>> 0
    return word
  }

  /** SQEs prepared and not yet handed to the kernel. */
  get unsubmitted(): number {
    return (this.sqTail - this.submittedTail) >>> 0
  }

  /** Calls `fn` with the word index of each SQE prepared and not yet handed to the kernel, oldest first. */
  forEachUnsubmitted(fn: (w: number) => void): void {
    for (let t = this.submittedTail; t !== this.sqTail; t = (t + 1) >>> 0) fn((t & this.sqMask) << 4)
  }

  /**
   * Publishes the prepared SQEs and enters the kernel once: submits them and,
   * with `getEvents`, runs deferred task work so completions are posted.
   * Returns the number submitted, or `-errno` for EBUSY/EAGAIN (the CQ needs
   * reaping first). Other failures throw.
   */
  submit(getEvents: boolean, minComplete = 0): number {
    const toSubmit = this.unsubmitted
    if (toSubmit === 0 && !getEvents) return 0
    // Release the SQE contents before the tail: the kernel reads SQEs up to the tail it loads.
    Atomics.store(this.sq32, this.sqTailWord, this.sqTail)
    const flags = getEvents ? IORING_ENTER_GETEVENTS : 0
    for (;;) {
      const r = sys6(SYS_io_uring_enter, this.fd, toSubmit, minComplete, flags, 0, 0)
      if (r >= 0) {
        this.submittedTail = (this.submittedTail + r) >>> 0
        return r
      }
      const e = errno()
      if (e === EINTR) continue
      if (e === EBUSY || e === EAGAIN) return -e
      throw new IoError(e, 'io_uring_enter', this.fd)
    }
  }

  /** CQEs posted and not yet consumed: `[head, tail)` in ring positions. */
  cqHead(): number {
    return this.cq32[this.cqHeadWord]!
  }

  /** The kernel's CQ tail, loaded atomically so the CQEs before it are visible. */
  cqTail(): number {
    return Atomics.load(this.cq32, this.cqTailWord)
  }

  /**
   * True when completions overflowed the CQ ring: the kernel holds them
   * (IORING_FEAT_NODROP) until an enter with GETEVENTS moves them over.
   */
  cqOverflowed(): boolean {
    return (Atomics.load(this.sq32, this.sqFlagsWord) & IORING_SQ_CQ_OVERFLOW) !== 0
  }

  /** Hands CQ entries before `head` back to the kernel (a release: we are done reading them). */
  cqAdvance(head: number): void {
    Atomics.store(this.cq32, this.cqHeadWord, head)
  }

  /** `io_uring_register(fd, opcode, arg, nrArgs)`; returns the result or throws `IoError`. */
  register(opcode: number, arg: Uint8Array | null, nrArgs: number, what: string): number {
    const r = sys4buf(SYS_io_uring_register, this.fd, opcode, arg, nrArgs)
    if (r < 0) throw new IoError(errno(), what, this.fd)
    return r
  }

  /** Unmaps the rings and closes the ring fd; the kernel cancels what is still in flight. Idempotent. */
  close(): void {
    if (this.closed) return
    this.closed = true
    for (const [addr, len] of this.maps) munmap(addr, len)
    this.maps.length = 0
    if (this.fd >= 0) close(this.fd)
  }

  private map(len: number, offset: number): number {
    const addr = mmapShared(this.fd, len, offset)
    if (addr < 0) throw new IoError(-addr, 'mmap', this.fd)
    this.maps.push([addr, len])
    return addr
  }
}
