/**
 * Readiness of one fd, watched by a libuv poll handle on Node's own event loop,
 * so callbacks run on the JS thread with no extra hop (DESIGN.md, "Measured
 * facts"). koffi 3 exposes one as `koffi.node.poll`; where a koffi lacks it,
 * the raw `uv_poll_*` route (`raw-uv-poll.ts`) stands behind it.
 *
 * @packageDocumentation
 */
import koffi from 'koffi'
import { createRawUvPoll, rawUvPollAvailable } from './raw-uv-poll.js'
import type { FdCallback, FdEvents, FdWatcher } from './watcher.js'

export type { FdCallback, FdEvents, FdWatcher } from './watcher.js'

type KoffiPollEvents = { readable: boolean; writable: boolean; disconnect: boolean }
type KoffiPollHandle = {
  start(opts: FdEvents, cb: (status: number, ev: KoffiPollEvents) => void): void
  stop(): void
  close(): void
  ref(): void
  unref(): void
}
type KoffiNode = { poll?: (fd: number, opts: FdEvents, cb: (status: number, ev: KoffiPollEvents) => void) => KoffiPollHandle }

const koffiNode = (koffi as unknown as { node?: KoffiNode }).node

/** The route in use: koffi's own poll handle, or raw libuv calls. `RINGIO_UV_POLL=raw` forces the raw one (tests). */
export const fdWatcherRoute: 'koffi' | 'raw' =
  process.env['RINGIO_UV_POLL'] !== 'raw' && typeof koffiNode?.poll === 'function' ? 'koffi' : 'raw'

/**
 * Starts watching `fd` for `events` and calls `cb` on Node's loop each time it
 * is ready (level-triggered). The watcher starts referenced.
 *
 * `uv_poll_init` switches `fd`'s file description to O_NONBLOCK (both
 * routes): watch only fds ringio owns. A user's or inherited fd goes into the
 * private epoll set of `poll/shared-readiness.ts`, whose epoll fd is ours.
 */
export function watchFd(fd: number, events: FdEvents, cb: FdCallback): FdWatcher {
  if (fdWatcherRoute === 'koffi') return koffiWatcher(fd, events, cb)
  if (!rawUvPollAvailable()) throw new Error('ringio: no libuv poll route (koffi.node.poll missing, uv_poll_* not found)')
  return createRawUvPoll(fd, events, cb)
}

function koffiWatcher(fd: number, events: FdEvents, cb: FdCallback): FdWatcher {
  const onEvent = (status: number, ev: KoffiPollEvents): void => cb(status, ev.readable, ev.writable)
  // The handle's finalizer closes the poll: the returned object keeps it reachable.
  const handle = koffiNode!.poll!(fd, events, onEvent)
  let closed = false
  return {
    start(ev) {
      if (!closed) handle.start(ev, onEvent)
    },
    stop() {
      if (!closed) handle.stop()
    },
    close() {
      if (closed) return
      closed = true
      handle.close()
    },
    ref() {
      if (!closed) handle.ref()
    },
    unref() {
      if (!closed) handle.unref()
    },
  }
}
