/**
 * The contract of a readiness watch on one fd, whichever route implements it
 * (`fd-watcher.ts` picks koffi's poll handle or `raw-uv-poll.ts`). Its own
 * file so that the routes and their chooser import it without importing
 * each other.
 *
 * @packageDocumentation
 */

/** Which readiness to watch / was seen. */
export interface FdEvents {
  readable?: boolean
  writable?: boolean
}

/** A started readiness watch on one fd. */
export interface FdWatcher {
  /** Watch `events` (replacing the previous set) with the same callback. */
  start(events: FdEvents): void
  /** Stop watching until the next `start`. */
  stop(): void
  /** Releases the libuv handle. Idempotent. */
  close(): void
  /** Keep the process alive while watching (default). */
  ref(): void
  /** Do not keep the process alive for this watch alone. */
  unref(): void
}

/** The callback: `status` < 0 is a libuv error (e.g. EBADF); `readable`/`writable` tell what is ready. */
export type FdCallback = (status: number, readable: boolean, writable: boolean) => void
