/**
 * A provided-buffer ring (IORING_REGISTER_PBUF_RING): `count` buffers of
 * `size` bytes that the kernel picks from only when data arrives, so idle
 * sockets hold no read buffer. The ring's entries and the buffers live in
 * anonymous mappings we own; the buffers are viewed once as one ArrayBuffer.
 *
 * @packageDocumentation
 */
import type { BufferGroup } from '../proactor.js'
import { IoError } from '../errors.js'
import { mmapAnonymous, munmap, view } from '../sys/libc.js'
import { BUF, BUF_REG, BUF_RING_TAIL, IORING_REGISTER_PBUF_RING, IORING_UNREGISTER_PBUF_RING } from './abi.js'
import type { Ring } from './ring.js'

const TWO32 = 2 ** 32
/** Buffers in a new ring; it grows from there with demand (see `take`). */
const INITIAL = 64

/** A registered provided-buffer ring; implements the backend-neutral {@link BufferGroup}. */
export class BufferRing implements BufferGroup {
  readonly id: number
  readonly count: number
  readonly size: number
  private readonly ring: Ring
  private readonly entries32: Uint32Array
  private readonly entries16: Uint16Array
  private readonly data: Buffer
  private readonly dataAddr: number
  private readonly maps: [number, number][] = []
  private tail = 0
  private lent = 0
  /** Buffers handed to the kernel so far: the ring starts small and grows with demand, see {@link take}. */
  private published = 0
  private waiters: (() => void)[] = []
  private closed = false

  constructor(ring: Ring, id: number, count: number, size: number) {
    this.ring = ring
    this.id = id
    this.count = count
    this.size = size
    const ringBytes = count * BUF.SIZE
    const ringAddr = this.map(ringBytes)
    this.dataAddr = this.map(count * size)
    const entries = view(ringAddr, ringBytes)
    this.entries32 = new Uint32Array(entries)
    this.entries16 = new Uint16Array(entries)
    this.data = Buffer.from(view(this.dataAddr, count * size))
    const reg = Buffer.alloc(BUF_REG.SIZE)
    reg.writeUInt32LE(ringAddr % TWO32, BUF_REG.ring_addr)
    reg.writeUInt32LE(Math.floor(ringAddr / TWO32), BUF_REG.ring_addr + 4)
    reg.writeUInt32LE(count, BUF_REG.ring_entries)
    reg.writeUInt16LE(id, BUF_REG.bgid)
    try {
      ring.register(IORING_REGISTER_PBUF_RING, reg, 1, 'register_pbuf_ring')
    } catch (err) {
      this.unmap()
      throw err
    }
    this.grow(Math.min(count, INITIAL))
  }

  get available(): number {
    return this.count - this.lent
  }

  /**
   * Called by the proactor when a completion hands buffer `bid` to user space.
   *
   * The kernel takes buffers in ring order (FIFO), so every buffer in the
   * ring is touched, and resident, sooner or later: a ring of 1024 x 16 KiB
   * costs 16 MiB of RSS under any load at all. So the ring starts with
   * {@link INITIAL} buffers and doubles whenever fewer than a quarter of them
   * are left, up to `count`. Growing here, at each take, keeps a buffer free
   * whenever the kernel could want one, unless a single batch of completions
   * took the last quarter — and then their own takes grow the ring before
   * the receive that met ENOBUFS is re-armed.
   */
  take(): void {
    this.lent++
    if (this.published < this.count && this.published - this.lent < this.published / 4) this.grow(Math.min(this.count, this.published * 2))
  }

  /** Publishes buffers `published..to-1` (never touched before: their pages become resident only when used). */
  private grow(to: number): void {
    for (let bid = this.published; bid < to; bid++) this.push(bid)
    this.published = to
    this.publish()
  }

  view(bid: number, len: number): Buffer {
    const start = bid * this.size
    return this.data.subarray(start, start + len)
  }

  copyOut(bid: number, len: number, target: Uint8Array, targetStart: number): void {
    const start = bid * this.size
    this.data.copy(target, targetStart, start, start + len)
  }

  release(bid: number): void {
    if (this.closed) return
    this.lent--
    this.push(bid)
    this.publish()
    if (this.waiters.length > 0) {
      const ws = this.waiters
      this.waiters = []
      for (const w of ws) w()
    }
  }

  onRelease(fn: () => void): void {
    this.waiters.push(fn)
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.waiters = []
    const reg = Buffer.alloc(BUF_REG.SIZE)
    reg.writeUInt16LE(this.id, BUF_REG.bgid)
    try {
      this.ring.register(IORING_UNREGISTER_PBUF_RING, reg, 1, 'unregister_pbuf_ring')
    } catch (err) {
      // The ring may already be closed (process exit): its buffers went with it.
      if (!IoError.is(err)) throw err
    }
    // A lent chunk (zero-copy mode) is a view of this memory: unmapping it
    // under a live view would crash on the next access. Keep the mapping
    // then — a bounded leak, released with the process — rather than crash.
    if (this.lent > 0) this.maps.splice(1)
    this.unmap()
  }

  private push(bid: number): void {
    // Entry words: addr lo, addr hi, len, bid | resv << 16. Entry 0's resv is the
    // ring tail, so write bid as a 16-bit half and never touch resv.
    const e = (this.tail & (this.count - 1)) * 4
    const addr = this.dataAddr + bid * this.size
    this.entries32[e] = addr % TWO32
    this.entries32[e + 1] = Math.floor(addr / TWO32)
    this.entries32[e + 2] = this.size
    this.entries16[(e + 3) * 2] = bid
    this.tail = (this.tail + 1) & 0xffff
  }

  private publish(): void {
    // A release store: the entries above must be visible before the kernel sees the new tail.
    Atomics.store(this.entries16, BUF_RING_TAIL >> 1, this.tail)
  }

  private map(len: number): number {
    const addr = mmapAnonymous(len)
    if (addr < 0) {
      this.unmap()
      throw new IoError(-addr, 'mmap')
    }
    this.maps.push([addr, len])
    return addr
  }

  private unmap(): void {
    for (const [a, l] of this.maps) munmap(a, l)
    this.maps.length = 0
  }
}
