/**
 * The events of an input stream (`stdin()`, `input()`).
 *
 * @packageDocumentation
 */

/** Bytes read. `data` is an owned Buffer: keep it, mutate it, hand it to async code. */
export interface DataEvent {
  /** The event's kind: bytes were read. */
  readonly type: 'data'
  /** The bytes, in an owned Buffer. */
  readonly data: Buffer
}

/**
 * An EOF *marker*: a zero-byte read on a terminal, which is what Ctrl-D at
 * the start of a line (or twice mid-line) produces. More input may follow:
 * the stream keeps reading (unless `eofMarkers: false`).
 */
export interface EofEvent {
  /** The event's kind: an EOF marker (more input may follow). */
  readonly type: 'eof'
}

/**
 * The real end of input: a pipe whose writers all closed, the end of a file,
 * a hung-up terminal — or the first EOF marker with `eofMarkers: false`.
 * The stream completes right after it.
 */
export interface EndEvent {
  /** The event's kind: the real end of input (the stream completes next). */
  readonly type: 'end'
}

/**
 * One input event; match on `type`.
 *
 * ## Example
 * ```ts
 * import { match } from 'ts-pattern'
 * stdin().subscribe((ev) =>
 *   match(ev)
 *     .with({ type: 'data' }, ({ data }) => handle(data))
 *     .with({ type: 'eof' }, () => console.error('^D'))
 *     .with({ type: 'end' }, () => finish())
 *     .exhaustive())
 * ```
 */
export type InputEvent = DataEvent | EofEvent | EndEvent
