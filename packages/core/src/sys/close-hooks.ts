/**
 * Hooks run before `closeSync` closes an fd. A backend that keeps per-fd
 * state beyond an op's life (the poll backend keeps an idle fd's libuv poll
 * handle, stopped) forgets the fd here, so a later fd with the same number
 * never meets that state. Closes through the proactor (the `close` op) tell
 * the backend themselves.
 *
 * @packageDocumentation
 */

const hooks = new Set<(fd: number) => void>()

/** Runs `hook(fd)` before each `closeSync(fd)` until the returned function is called. */
export function onSyncClose(hook: (fd: number) => void): () => void {
  hooks.add(hook)
  return () => hooks.delete(hook)
}

/** Tells every hook that `fd` is about to be closed. */
export function beforeSyncClose(fd: number): void {
  for (const h of hooks) h(fd)
}
