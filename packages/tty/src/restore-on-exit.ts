/**
 * Runs restore actions (putting a terminal's attributes back) however the
 * process ends: normal exit, `process.exit()`, an uncaught exception or
 * unhandled rejection, SIGINT, SIGTERM or SIGHUP. Hooks are installed only
 * while at least one action is registered.
 *
 * A signal we catch is re-raised after restoring when nobody else listens
 * for it, so the process still dies *by that signal* (the shell sees 130 or
 * 143, exactly as without ringio). When the application has its own
 * listener, it decides; the `exit` hook restores if it then exits. SIGKILL
 * cannot be caught: after `kill -9`, run `stty sane`.
 *
 * @packageDocumentation
 * @internal
 */

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
type Sig = (typeof SIGNALS)[number]

const actions = new Set<() => void>()
let installed = false

function runAll(): void {
  const list = [...actions]
  actions.clear()
  for (const fn of list) {
    try {
      fn()
    } catch {
      // The terminal may already be gone (hangup): nothing left to restore.
    }
  }
  uninstall()
}

function onExit(): void {
  runAll()
}

function onUncaught(): void {
  // Restore before Node prints the stack trace, but only when the process is
  // about to die: with an 'uncaughtException' listener it carries on.
  if (process.listenerCount('uncaughtException') === 0) runAll()
}

const onSignal: Record<Sig, () => void> = {
  SIGINT: () => signalled('SIGINT'),
  SIGTERM: () => signalled('SIGTERM'),
  SIGHUP: () => signalled('SIGHUP'),
}

function signalled(sig: Sig): void {
  const alone = process.listenerCount(sig) === 1
  runAll() // also removes our listeners
  // Nobody else handles it: die by the signal, as the default action would have.
  if (alone) process.kill(process.pid, sig)
}

function install(): void {
  if (installed) return
  installed = true
  process.on('exit', onExit)
  process.on('uncaughtExceptionMonitor', onUncaught)
  for (const s of SIGNALS) process.on(s, onSignal[s])
}

function uninstall(): void {
  if (!installed) return
  installed = false
  process.off('exit', onExit)
  process.off('uncaughtExceptionMonitor', onUncaught)
  for (const s of SIGNALS) process.off(s, onSignal[s])
}

/**
 * Registers `action` to run once when the process ends (see the module doc).
 * @returns a function that unregisters it (without running it)
 */
export function restoreOnExit(action: () => void): () => void {
  actions.add(action)
  install()
  return () => {
    actions.delete(action)
    if (actions.size === 0) uninstall()
  }
}
