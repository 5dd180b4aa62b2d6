/**
 * State that must exist once per Node environment (main thread or Worker),
 * however many copies of ringio's modules are loaded.
 *
 * An app that loads `@ringio/*` both as ESM and as CJS (a dependency that uses
 * `require`) gets two instances of every module. Module-level state would then
 * mean two proactors, two read pools and two writers on fd 1, and writes
 * issued through both would interleave out of order. State kept under a
 * `Symbol.for` key on `globalThis` is shared by every copy: the symbol
 * registry is per isolate, so each Worker still has its own.
 *
 * @packageDocumentation
 */

/**
 * The layout version of the shared state. Bump it when the shape of any
 * value stored through {@link environmentSingleton} changes incompatibly, so
 * that two different ringio versions in one process keep apart instead of
 * reading each other's objects.
 */
const STATE_VERSION = 1

/**
 * The one value of `key` in this Node environment, created by `create` on
 * first use and shared by every loaded copy of ringio (ESM and CJS builds).
 * For transports that keep per-environment state (pools, per-fd writers).
 *
 * ## Example
 * ```ts
 * const writers = environmentSingleton('tty.writers', () => new Map<number, Writer>())
 * ```
 * @param key a name unique within ringio, e.g. `'net.readPool'`
 * @param create makes the value the first time
 */
export function environmentSingleton<T extends object>(key: string, create: () => T): T {
  const sym = Symbol.for(`ringio.v${STATE_VERSION}.${key}`)
  const g = globalThis as unknown as Record<symbol, T | undefined>
  let v = g[sym]
  if (v === undefined) {
    v = create()
    Object.defineProperty(globalThis, sym, { value: v, enumerable: false, configurable: false, writable: false })
  }
  return v
}
