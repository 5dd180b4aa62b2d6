/**
 * Host names to addresses, through Node's resolver (`dns.lookup`, i.e.
 * getaddrinfo: /etc/hosts and nsswitch apply), with resolver failures as
 * `IoError`s and an AbortSignal that rejects at once.
 *
 * @packageDocumentation
 */
import { lookup as dnsLookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { abortError, IoError } from '@ringio/core/transport'
import { literalHost } from './sockaddr.js'

/**
 * Which addresses a lookup may return, as Node's `family` option: `4` (IPv4
 * only), `6` (IPv6 only) or `0` (both, in the order the resolver returns
 * them: Node's `dns.setDefaultResultOrder`, `'verbatim'` by default).
 */
export type AddressFamily = 0 | 4 | 6

/** One resolved address. */
export interface ResolvedAddress {
  /** The IP literal. */
  address: string
  /** 4 or 6. */
  family: 4 | 6
}

/**
 * A resolver, shaped like `dns.promises.lookup` called with `all: true`
 * (which is the default one): pass your own to resolve names another way
 * (a cache, a fixed table, a test). A rejection with a string `code` (as
 * Node's resolver errors have) becomes an `IoError` with that code; any other
 * rejection is passed on as is.
 */
export type LookupFunction = (
  hostname: string,
  options: {
    /** The families asked for. */
    family: AddressFamily
    /** Always true: every address is wanted. */
    all: true
  },
) => Promise<
  ReadonlyArray<{
    /** An IP literal. */
    address: string
    /** 4 or 6. */
    family: number
  }>
>

/** Options of {@link resolveHost}. */
export interface ResolveOptions {
  /** Which families to ask for (default 0: both). */
  family?: AddressFamily
  /**
   * Aborting rejects at once with the signal's reason. getaddrinfo itself
   * cannot be cancelled: it finishes on Node's threadpool and its answer is
   * dropped.
   */
  signal?: AbortSignal
  /** The resolver (default `dns.promises.lookup`). */
  lookup?: LookupFunction
}

/** Throws unless `family` is undefined, 0, 4 or 6; returns it (0 for undefined). */
export function checkFamily(family: unknown): AddressFamily {
  if (family === undefined) return 0
  if (family === 0 || family === 4 || family === 6) return family
  throw new TypeError(`family must be 0, 4 or 6, got ${String(family)}`)
}

/**
 * Resolves `host` to its addresses, in the resolver's order. An IP literal
 * (and `'localhost'`: 127.0.0.1, or ::1 with `family: 6`) is returned as is,
 * with no lookup.
 *
 * ## Example
 * ```ts
 * const [first] = await resolveHost('example.org', { family: 4, signal: AbortSignal.timeout(2000) })
 * await sock.send('ping', { address: first.address, port: 53 })   // udp send() never resolves names
 * ```
 * @returns rejects with `IoError` of op `'getaddrinfo'`, the host name as its
 * handle and `errno` 0, its `code` the resolver's: `'ENOTFOUND'` (no such
 * name, or no address of the asked family), `'EAI_AGAIN'` (the resolver
 * could not be reached: try again later), `'EAI_FAIL'`, `'ENODATA'`, …; with
 * the signal's reason when aborted; TypeError for a bad argument or a
 * resolver answer that is not an IP address
 */
export function resolveHost(host: string, opts: ResolveOptions = {}): Promise<ResolvedAddress[]> {
  try {
    if (typeof host !== 'string' || host === '') throw new TypeError(`host must be a non-empty string, got ${String(host)}`)
    const family = checkFamily(opts.family)
    const signal = opts.signal
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('signal must be an AbortSignal')
    const literal = literalHost(host, family)
    if (literal !== null) return Promise.resolve([{ address: literal, family: isIP(literal) === 6 ? 6 : 4 }])
    if (signal?.aborted === true) return Promise.reject(abortError(signal))
    const lookup = opts.lookup ?? (dnsLookup as LookupFunction)
    const answer = lookup(host, { family, all: true }).then((found) => addresses(host, family, found), (err: unknown) => Promise.reject(resolverError(host, err)))
    if (signal === undefined) return answer
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(abortError(signal))
      signal.addEventListener('abort', onAbort, { once: true })
      // Settling twice is harmless: whichever of the answer and the abort comes first wins.
      answer.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
    })
  } catch (err) {
    return Promise.reject(err)
  }
}

function addresses(host: string, family: AddressFamily, found: ReadonlyArray<{ address: string; family: number }>): ResolvedAddress[] {
  if (!Array.isArray(found)) throw new TypeError(`lookup for '${host}' must resolve with an array of { address, family }`)
  const out: ResolvedAddress[] = []
  for (const a of found) {
    const kind = typeof a?.address === 'string' ? isIP(a.address) : 0
    if (kind === 0) throw new TypeError(`lookup for '${host}' returned a non-IP address: ${String(a?.address)}`)
    if (family === 0 || family === kind) out.push({ address: a.address, family: kind as 4 | 6 })
  }
  if (out.length === 0) throw new IoError(0, 'getaddrinfo', host, { code: 'ENOTFOUND' })
  return out
}

function resolverError(host: string, err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code !== 'string') return err
  return new IoError(0, 'getaddrinfo', host, { code, cause: err })
}
