/**
 * The write queue's open tail: the chunk small writes are copied into until
 * the queue submits — one iovec and one Promise for all the writes in it. In
 * a burst (a chunk fills up before it is submitted) each new chunk is twice
 * the last, up to {@link MAX_TAIL}.
 *
 * @packageDocumentation
 */
import { allocChunk } from './slab.js'

/** Largest chunk small writes are gathered in: a slab carve (`slab.ts`). */
export const MAX_TAIL = 16 * 1024
/** Capacity of the second chunk of a burst; each later one doubles, up to {@link MAX_TAIL}. */
const MIN_TAIL = 1024

/** Where a tail chunk lives: the last entry of its queue. */
export interface TailHost {
  /** Appends `chunk` as the queue's last entry; returns the Promise that settles once the kernel took it all. */
  pushTail(chunk: Buffer): Promise<void>
  /** Replaces the queue's last entry (the open chunk) with `bytes`. */
  replaceLast(bytes: Uint8Array): void
}

/**
 * The open tail of a write queue. It is always the queue's last entry: the
 * queue seals it before pushing anything else, so later small writes cannot
 * overtake a larger one.
 */
export class TailChunk {
  private chunk: Buffer | null = null
  private used = 0
  /** What every write in the open chunk returns: settled when the whole chunk is taken, which includes all of each write's bytes. */
  private settled: Promise<void> | null = null
  /** Capacity of the next chunk: 0 for the first small write of a turn (exact size), growing while a burst fills chunks. */
  private cap = 0

  constructor(
    private readonly host: TailHost,
    /** The queue's `maxBytes`: no chunk is made larger than one writev takes. */
    private readonly maxBytes: number,
  ) {}

  /** What every write in the open chunk returns (null while none is open). */
  get promise(): Promise<void> | null {
    return this.settled
  }

  /**
   * Copies a small write into the open chunk, opening one if needed, and
   * returns the bytes copied (then {@link promise} is what the write
   * returns); -1 when it is too big for any chunk (the queue's general path
   * takes it). No allocation unless a chunk is opened: this is every small
   * write's path.
   */
  copy(data: string | Uint8Array): number {
    let n = typeof data === 'string' ? data.length * 3 : data.length // a string's UTF-8 worst case
    const room = this.chunk === null ? 0 : this.chunk.length - this.used
    if (n > room) {
      if (typeof data === 'string') n = Buffer.byteLength(data, 'utf8')
      if (n > MAX_TAIL) return -1
      if (n > room) this.open(n)
    }
    const t = this.chunk!
    const k = typeof data === 'string' ? t.write(data, this.used, 'utf8') : (t.set(data, this.used), data.length)
    this.used += k
    return k
  }

  /** Closes the open chunk (if any): its entry becomes exactly the bytes written into it. */
  seal(): void {
    if (this.chunk === null) return
    this.host.replaceLast(this.chunk.subarray(0, this.used))
    this.chunk = null
    this.settled = null
  }

  /** The queue submits: the chunk is sealed, and the next burst starts small again. */
  submit(): void {
    this.seal()
    this.cap = 0
  }

  /** Seals the open chunk (if any) and opens a new one for at least `n` bytes. */
  private open(n: number): void {
    if (this.chunk !== null) {
      // A burst: the previous chunk filled up before it was submitted.
      this.cap = Math.min(Math.max(2 * this.cap, MIN_TAIL), MAX_TAIL)
      this.seal()
    }
    this.chunk = allocChunk(Math.max(n, Math.min(this.cap, this.maxBytes)))
    this.used = 0
    this.settled = this.host.pushTail(this.chunk)
  }
}
