/**
 * The libc bindings core shares with the transports built on it
 * (`@ringio/fs`, `@ringio/tty`, your own): each C function is bound once in
 * ringio, in core, and the packages import it from here instead of binding
 * it again. Synchronous calls block the JS thread: use them on descriptions
 * that are non-blocking, or run their `.async` form through
 * `threadpoolCall`. Every `fcntl` is here too, as the few safe helpers
 * below: nothing offers a raw `fcntl`, so a shared handle's flags cannot be
 * changed by accident (DESIGN.md principle 3).
 *
 * @packageDocumentation
 */
export type { AsyncFn } from './libc.js'
export { fallocate, ftruncate, munmap, poll, read, schedYield, statxAt, view, writev } from './libc.js'
export { pipeCapacity, setOwnedNonBlocking, statusFlags } from './fd-flags.js'
