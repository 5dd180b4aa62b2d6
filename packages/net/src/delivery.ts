/**
 * Which source is handing out data right now, so that a write made while it
 * does can pause that source (backpressure without the user wiring it).
 *
 * `data$.subscribe((chunk) => out.write(chunk))` is the code everybody
 * writes, and `data$` is pure push: without this, a destination slower than
 * the source makes `out`'s write queue grow without bound. A write that
 * leaves its queue at or above the high-water mark while a source is
 * delivering takes a {@link Hold} on that source; the destination gives it
 * back when its queue drains (or fails). The source then stops asking the
 * kernel for data: the socket's buffer fills, TCP's window closes, and the
 * peer slows down — memory stays bounded and nothing is dropped.
 *
 * Kept once per Node environment (see `environmentSingleton`): an app that
 * loads both builds may read through one and write through the other.
 *
 * @packageDocumentation
 */
import { environmentSingleton } from '@ringio/core/transport'

/** A source that can be paused: each `hold()` stops it until the returned release is called. */
export interface Holdable {
  /** Pauses the source's kernel receive until the returned function is called (idempotent). */
  hold(): () => void
}

const state = environmentSingleton('net.delivery', () => ({ current: null as Holdable | null }))

/**
 * Marks `source` as delivering; returns what was current before, for
 * {@link endDelivery} (call it in a `finally`). No closure per chunk: this is
 * on every receive's path.
 */
export function beginDelivery(source: Holdable): Holdable | null {
  const outer = state.current
  state.current = source
  return outer
}

/** Ends the delivery begun by {@link beginDelivery}. */
export function endDelivery(outer: Holdable | null): void {
  state.current = outer
}

/** The source whose data is being handed out now, if any. */
export function currentDelivery(): Holdable | null {
  return state.current
}
