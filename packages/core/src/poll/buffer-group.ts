/**
 * The poll backend's emulation of an io_uring provided-buffer ring: one
 * allocation of `count * size` bytes and a free list of buffer ids. The
 * backend takes a buffer only once a socket has data (principle 1: no read
 * buffer per socket), exactly as the kernel picks one from the ring.
 *
 * @packageDocumentation
 */
import type { BufferGroup } from '../buffer-group.js'
import { addressOf } from '../sys/libc.js'

/**
 * A {@link BufferGroup} backed by one Buffer. `take`/`putBack` are the
 * backend's side (the kernel's, on io_uring); `release` is the user's.
 */
export class PollBufferGroup implements BufferGroup {
  /** The group's memory; buffer `bid` is bytes `[bid*size, (bid+1)*size)`. */
  readonly memory: Buffer
  /** Address of `memory`, for `recv` straight into a buffer with no subarray per call. */
  readonly base: number
  private readonly free: Int32Array
  private top: number
  // 1 while lent out: catches double releases, which would hand one buffer to two reads.
  private readonly lent: Uint8Array
  private waiters: (() => void)[] = []
  /** Times a receive found the group dry (pool pressure; tests check the dry path really ran). */
  dryTakes = 0
  private closedFlag = false

  /**
   * @param id the group id
   * @param count number of buffers
   * @param size bytes per buffer
   * @param onClose called once by {@link close} (the proactor forgets the group)
   */
  constructor(
    readonly id: number,
    readonly count: number,
    readonly size: number,
    private readonly onClose: (g: PollBufferGroup) => void,
  ) {
    this.memory = Buffer.alloc(count * size)
    this.base = addressOf(this.memory)
    this.free = new Int32Array(count)
    this.lent = new Uint8Array(count)
    // Highest id at the bottom so buffer 0 is handed out first, as the ring would.
    for (let i = 0; i < count; i++) this.free[i] = count - 1 - i
    this.top = count
  }

  /** True once closed: reads on it then end with `-ENOBUFS`, like an unregistered bgid. */
  get closed(): boolean {
    return this.closedFlag
  }

  /** Buffers in the pool. */
  get available(): number {
    return this.closedFlag ? 0 : this.top
  }

  /** Backend side: lends out a buffer id, or -1 when the pool is dry. */
  take(): number {
    if (this.closedFlag || this.top === 0) {
      this.dryTakes++
      return -1
    }
    const bid = this.free[--this.top]!
    this.lent[bid] = 1
    return bid
  }

  /** Backend side: returns a buffer that received nothing (EOF, EAGAIN, error). Fires no `onRelease`. */
  putBack(bid: number): void {
    this.lent[bid] = 0
    this.free[this.top++] = bid
  }

  /** The address of buffer `bid`. */
  addressOf(bid: number): number {
    return this.base + bid * this.size
  }

  /** A no-copy view of the first `len` bytes of buffer `bid`. */
  view(bid: number, len: number): Buffer {
    this.check(bid, len)
    const start = bid * this.size
    return this.memory.subarray(start, start + len)
  }

  /** Copies the first `len` bytes of buffer `bid` into `target` at `targetStart`. */
  copyOut(bid: number, len: number, target: Uint8Array, targetStart: number): void {
    this.check(bid, len)
    const start = bid * this.size
    this.memory.copy(target, targetStart, start, start + len)
  }

  /** Gives buffer `bid` back to the pool, then runs the `onRelease` callbacks registered so far. */
  release(bid: number): void {
    if (this.closedFlag) return
    this.check(bid, 0)
    if (this.lent[bid] !== 1) throw new Error(`ringio: buffer ${bid} of group ${this.id} released twice`)
    this.putBack(bid)
    if (this.waiters.length === 0) return
    // Swap first: a callback that re-arms and hits ENOBUFS again registers for the *next* release.
    const run = this.waiters
    this.waiters = []
    for (const fn of run) fn()
  }

  /** Calls `fn` once, at the next {@link release}. */
  onRelease(fn: () => void): void {
    if (!this.closedFlag) this.waiters.push(fn)
  }

  /** Frees the group. Idempotent; views handed out must not be used afterwards. */
  close(): void {
    if (this.closedFlag) return
    this.closedFlag = true
    this.waiters = []
    this.onClose(this)
  }

  private check(bid: number, len: number): void {
    if (!Number.isInteger(bid) || bid < 0 || bid >= this.count) throw new RangeError(`ringio: bad buffer id ${bid} (group of ${this.count})`)
    if (len < 0 || len > this.size) throw new RangeError(`ringio: length ${len} outside a buffer of ${this.size} bytes`)
  }
}
