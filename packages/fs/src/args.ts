/**
 * Argument checks shared by the public functions: bad arguments throw a
 * `TypeError`/`RangeError` at the call site, before anything is submitted.
 *
 * @packageDocumentation
 */
import type { OperationOptions } from '@ringio/core/transport'

/** Largest file offset we accept: beyond 2^53 a Number is no longer exact. */
export const MAX_OFFSET = Number.MAX_SAFE_INTEGER

function describe(v: unknown): string {
  if (v === null) return 'null'
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object'
  return `${typeof v} ${String(v).slice(0, 40)}`
}

/** An integer in [min, max], or a `TypeError`/`RangeError` naming `name`. */
export function checkInt(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${name} must be an integer, got ${describe(v)}`)
  if (v < min || v > max) throw new RangeError(`${name} must be between ${min} and ${max}, got ${v}`)
  return v
}

/** A file offset: an integer in [0, 2^53). */
export function checkOffset(name: string, v: unknown): number {
  return checkInt(name, v, 0, MAX_OFFSET)
}

/** A Buffer or Uint8Array. */
export function checkBytes(name: string, v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new TypeError(`${name} must be a Buffer or Uint8Array, got ${describe(v)}`)
  return v
}

/** Bytes, or a string encoded as UTF-8. */
export function toBytes(name: string, v: unknown): Uint8Array {
  if (typeof v === 'string') return Buffer.from(v)
  return checkBytes(name, v)
}

/** A non-empty array of at most 1024 (IOV_MAX) Buffers. */
export function checkBufs(name: string, v: unknown): Uint8Array[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > 1024) {
    throw new TypeError(`${name} must be a non-empty array of at most 1024 Buffers`)
  }
  return v.map((b, i) => checkBytes(`${name}[${i}]`, b))
}

/** Operation options: only `signal` needs checking here (core checks `ref`). */
export function checkOpts(opts: OperationOptions | undefined): OperationOptions | undefined {
  if (opts === undefined) return undefined
  if (typeof opts !== 'object' || opts === null) throw new TypeError(`options must be an object, got ${describe(opts)}`)
  if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) {
    throw new TypeError(`signal must be an AbortSignal, got ${describe(opts.signal)}`)
  }
  return opts
}
