/**
 * The argument checks op files share: the same on both backends, at the call
 * site, before anything starts.
 *
 * @packageDocumentation
 */
import { checkBytes } from '../errors.js'

/** `value` is a number in `[min, max]` (fractions allowed), else RangeError. */
export function checkNumber(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !(value >= min && value <= max)) {
    throw new RangeError(`${name} must be a number in ${min}..${max}, got ${String(value)}`)
  }
  return value
}

/** `bufs` is an array of byte arrays. */
export function checkByteArrays(name: string, bufs: unknown): readonly Uint8Array[] {
  if (!Array.isArray(bufs)) throw new TypeError(`${name} must be an array of Uint8Array`)
  for (let i = 0; i < bufs.length; i++) checkBytes(`${name}[${i}]`, bufs[i])
  return bufs as readonly Uint8Array[]
}

/** `path` is a NUL-terminated byte string. */
export function checkPath(path: unknown): Uint8Array {
  const p = checkBytes('path', path)
  if (p.length === 0 || p[p.length - 1] !== 0) throw new TypeError('path must be NUL-terminated')
  return p
}
