/**
 * The buffer-select side of the io_uring receives: a receive that picks its
 * buffer from a {@link BufferRing} completes through a wrapper that counts
 * the buffers handed out (so `BufferGroup.available` is right) and remembers
 * whether the socket was left empty (the next receive then polls first).
 *
 * @packageDocumentation
 */
import type { BufferGroup, Completion } from '../proactor.js'
import { IORING_CQE_F_BUFFER, IORING_CQE_F_SOCK_NONEMPTY } from './abi.js'
import type { BufferRing } from './buffer-ring.js'

/**
 * Counts buffers a buffer-select receive hands out, so `BufferGroup.available`
 * is right. One per target, kept on it (see {@link selectFor}): a stream
 * receive is re-armed after every chunk and must not allocate each time.
 */
export class BufferSelectCompletion implements Completion {
  /** The last completion left the socket empty (no `SOCK_NONEMPTY`): the next receive polls first. */
  drained = false
  constructor(
    readonly group: BufferRing,
    private readonly target: Completion,
  ) {}
  complete(res: number, flags: number): void {
    if ((flags & IORING_CQE_F_BUFFER) !== 0) this.group.take()
    this.drained = (flags & IORING_CQE_F_SOCK_NONEMPTY) === 0
    this.target.complete(res, flags)
  }
}

const SELECT = Symbol('ringio.bufferSelect')
type SelectTarget = Completion & { [SELECT]?: BufferSelectCompletion }

/** The target's buffer-counting wrapper for `group`, made once and kept on the target. */
export function selectFor(group: BufferRing, c: Completion): BufferSelectCompletion {
  const t = c as SelectTarget
  let s = t[SELECT]
  if (s === undefined || s.group !== group) {
    s = new BufferSelectCompletion(group, c)
    t[SELECT] = s
  }
  return s
}

/**
 * `group`'s ring among a proactor's `groups`.
 * @throws TypeError naming `op` when `group` belongs to another proactor (or was closed)
 */
export function ringOf(groups: ReadonlyMap<number, BufferRing>, group: BufferGroup, op: string): BufferRing {
  const ring = groups.get(group.id)
  if (ring === undefined || ring !== group) throw new TypeError(`${op}: group does not belong to this proactor`)
  return ring
}
