/**
 * Raw mode with guaranteed restore: the terminal's previous attributes are
 * put back when the last holder lets go, and also on exit, on SIGINT, SIGTERM
 * and SIGHUP, and on an uncaught exception.
 *
 * @packageDocumentation
 */
import { environmentSingleton } from '@ringio/core/transport'
import { TCSANOW } from './libc.js'
import { restoreOnExit } from './restore-on-exit.js'
import { Termios } from './termios.js'

/** A hold on raw mode for one terminal; see {@link setRawMode}. */
export interface RawMode {
  /** The terminal's fd. */
  readonly fd: number
  /** True until {@link RawMode.restore} ran (or raw mode was switched off for everyone). */
  readonly active: boolean
  /**
   * Releases this hold. When it was the last one, the attributes saved before
   * raw mode was entered are applied again (after pending output drains).
   * Idempotent.
   */
  restore(): void
}

/** Options of {@link setRawMode}. */
export interface RawModeOptions {
  /** The terminal's fd. Default 0 (stdin). */
  fd?: number
}

interface State {
  readonly saved: Termios
  readonly holds: Set<Hold>
  readonly unregister: () => void
}

// Shared by every loaded build: the saved attributes must be restored once, from the first save.
const states = environmentSingleton('tty.rawModes', () => new Map<number, State>())

class Hold implements RawMode {
  private live = true
  constructor(readonly fd: number) {}
  get active(): boolean {
    return this.live
  }
  restore(): void {
    if (!this.live) return
    this.live = false
    const st = states.get(this.fd)
    if (st === undefined) return
    st.holds.delete(this)
    if (st.holds.size === 0) leave(this.fd, st)
  }
  /** @internal */
  drop(): void {
    this.live = false
  }
}

function leave(fd: number, st: State): void {
  states.delete(fd)
  st.unregister()
  st.saved.apply(fd)
}

/**
 * Switches a terminal into raw mode (`setRawMode(true)`) or back
 * (`setRawMode(false)`), with tcgetattr/tcsetattr — no file-status flag of the
 * shared descriptor is touched, only the terminal's attributes, and those are
 * always put back.
 *
 * Raw mode is reference counted: every `setRawMode(true)` returns a hold, the
 * terminal stays raw while any hold is active, and the attributes saved on
 * the first call are restored when the last hold is released. `setRawMode(false)`
 * restores at once and releases every hold. `stdin({ raw: true })` takes a
 * hold for as long as it is subscribed.
 *
 * In raw mode input is unprocessed: no echo, no line editing, Ctrl-C arrives
 * as the byte `0x03` (no SIGINT) and Ctrl-D as `0x04` (no EOF marker).
 *
 * ## Example
 * ```ts
 * import { setRawMode, stdin } from '@ringio/tty'
 * const raw = setRawMode(true)
 * const sub = stdin().subscribe((ev) => {
 *   if (ev.type === 'data' && ev.data.includes(0x03)) { sub.unsubscribe(); raw.restore() }
 * })
 * ```
 * @param enable true for raw mode, false to restore the saved attributes now
 * @param opts `fd`: the terminal (default 0)
 * @returns the hold (inactive for `setRawMode(false)`)
 * @throws IoError `ENOTTY` when the fd is not a terminal, `EBADF` when it is not open
 */
export function setRawMode(enable: boolean, opts: RawModeOptions = {}): RawMode {
  const fd = opts.fd ?? 0
  if (!Number.isInteger(fd) || fd < 0) throw new TypeError(`fd must be a non-negative integer, got ${String(fd)}`)
  const hold = new Hold(fd)
  const st = states.get(fd)
  if (!enable) {
    hold.drop()
    if (st !== undefined) {
      for (const h of st.holds) h.drop()
      leave(fd, st)
    }
    return hold
  }
  if (st !== undefined) {
    st.holds.add(hold)
    return hold
  }
  const saved = Termios.read(fd)
  saved.raw().apply(fd)
  const holds = new Set([hold])
  // At exit or on a signal, do not wait for output to drain: it may never drain.
  const unregister = restoreOnExit(() => {
    states.delete(fd)
    for (const h of holds) h.drop()
    saved.apply(fd, TCSANOW)
  })
  states.set(fd, { saved, holds, unregister })
  return hold
}

/**
 * True while ringio holds `fd` in raw mode.
 * @param fd the terminal (default 0)
 */
export function isRawMode(fd = 0): boolean {
  return states.has(fd)
}
