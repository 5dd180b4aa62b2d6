/**
 * A view of a proactor with some operations replaced: what the writer's
 * wrappers (`eagain-retry.ts`, `async-writes.ts`, `bulk-pipe.ts`) build on.
 *
 * Replacements are made once, and the proactor's other methods are bound
 * once and cached: taking `view.writev` or `view.beforeSubmit` on every write
 * allocates nothing. Getters (`closed`, `pending`) stay live.
 *
 * @packageDocumentation
 * @internal
 */
import type { Proactor } from '@ringio/core'

/**
 * `p`, with the methods in `overrides` replaced.
 *
 * ## Example
 * ```ts
 * const v = proactorView(p, { write: (fd, buf, off, c, o) => p.write(fd, buf, off, c, { ...o, async: true }) })
 * ```
 */
export function proactorView(p: Proactor, overrides: Partial<Proactor>): Proactor {
  const bound = new Map<PropertyKey, unknown>()
  return new Proxy(p, {
    get(target, prop) {
      const own = (overrides as Record<PropertyKey, unknown>)[prop]
      if (own !== undefined) return own
      const cached = bound.get(prop)
      if (cached !== undefined) return cached
      const v: unknown = Reflect.get(target, prop, target)
      if (typeof v !== 'function') return v
      const fn = (v as (...a: unknown[]) => unknown).bind(target)
      bound.set(prop, fn)
      return fn
    },
  })
}
