import type { Completion } from './proactor.js'

/** Generations wrap below 2^21 so `gen * 2^32 + slot` stays an exact Number. */
const GEN_LIMIT = 1 << 21
const TWO32 = 2 ** 32

/**
 * user_data → completion, with no allocation per operation: a free list of
 * slot indexes over parallel arrays that only grow. An operation's id is
 * `generation * 2^32 + slot`; the kernel sees it as user_data (slot in the low
 * word, generation in the high word). A slot's generation changes each time it
 * is freed, so a late completion of a cancelled operation can never reach the
 * operation that reused its slot.
 */
export class SlotTable {
  private targets: (Completion | null)[] = []
  private keeps: unknown[] = []
  private gens: Int32Array
  private free: Int32Array
  private freeTop = 0
  /** Live slots (operations started and not finally completed). */
  live = 0

  constructor(initial = 256) {
    this.gens = new Int32Array(initial)
    this.free = new Int32Array(initial)
    this.grow(0, initial)
  }

  /** Takes a slot for `target`, keeping `keep` (buffers the kernel uses) alive until it is freed. Returns the slot. */
  acquire(target: Completion, keep: unknown): number {
    if (this.freeTop === 0) this.expand()
    const slot = this.free[--this.freeTop]!
    this.targets[slot] = target
    this.keeps[slot] = keep
    this.live++
    return slot
  }

  /** The operation id of a slot that is live now. */
  idOf(slot: number): number {
    return this.gens[slot]! * TWO32 + slot
  }

  /** The generation of `slot` (the high word of its user_data). */
  gen(slot: number): number {
    return this.gens[slot]!
  }

  /** The target of a completion whose user_data was (`slot`, `gen`), or null when that operation is gone. */
  lookup(slot: number, gen: number): Completion | null {
    if (slot >= this.gens.length || this.gens[slot] !== gen) return null
    return this.targets[slot] ?? null
  }

  /** The slot of operation `id` if it is still live, else -1. */
  slotOf(id: number): number {
    const slot = id % TWO32
    const gen = (id - slot) / TWO32
    return slot < this.gens.length && this.gens[slot] === gen && this.targets[slot] !== null ? slot : -1
  }

  /** Frees a slot: its target and kept buffers are dropped and its generation moves on. */
  release(slot: number): void {
    if (this.targets[slot] === null) return
    this.targets[slot] = null
    this.keeps[slot] = undefined
    this.gens[slot] = (this.gens[slot]! + 1) % GEN_LIMIT
    this.free[this.freeTop++] = slot
    this.live--
  }

  /** Every live target, for shutting down. */
  *liveTargets(): Generator<[slot: number, target: Completion]> {
    for (let i = 0; i < this.targets.length; i++) {
      const t = this.targets[i]
      if (t) yield [i, t]
    }
  }

  private expand(): void {
    const n = this.gens.length
    const gens = new Int32Array(n * 2)
    gens.set(this.gens)
    this.gens = gens
    this.free = new Int32Array(n * 2)
    this.grow(n, n * 2)
  }

  private grow(from: number, to: number): void {
    // Push in reverse so low slots are handed out first (denser arrays).
    for (let i = to - 1; i >= from; i--) {
      this.free[this.freeTop++] = i
      this.targets[i] = null
      this.keeps[i] = undefined
    }
  }
}
