/**
 * Happy Eyeballs (RFC 8305), as Node's `autoSelectFamily`: connection
 * attempts to a host's addresses, families interleaved, the next one started
 * when the previous fails or after an attempt delay, the first to connect
 * kept and the others cancelled in the kernel and closed.
 *
 * @packageDocumentation
 */
import { abortError, getProactor, IoError, run, sockets } from '@ringio/core/transport'
import { SOCK_STREAM } from './constants.js'
import type { ResolvedAddress } from './resolve.js'
import { AF_INET, AF_INET6, encodeInet } from './sockaddr.js'


/** Options of {@link connectFirst}. */
export interface AttemptOptions {
  /** Ms to wait for an attempt before starting the next one alongside it (Node's `autoSelectFamilyAttemptTimeout`). */
  attemptDelay: number
  /** Aborting cancels every attempt; the Promise rejects with the reason once every fd is closed. */
  signal?: AbortSignal
  /** The host and port as the user named them, for the error when every attempt fails. */
  handle: string
}

/**
 * Orders `addresses` for the attempts: the first address's family first,
 * then alternating families (RFC 8305 §4, "First Address Family Count" 1),
 * each family in the resolver's order.
 */
export function interleave(addresses: readonly ResolvedAddress[]): ResolvedAddress[] {
  if (addresses.length === 0) return []
  const first = addresses[0]!.family
  const a = addresses.filter((x) => x.family === first)
  const b = addresses.filter((x) => x.family !== first)
  const out: ResolvedAddress[] = []
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (i < a.length) out.push(a[i]!)
    if (i < b.length) out.push(b[i]!)
  }
  return out
}

/**
 * Connects a TCP socket to the first of `addresses` (tried in
 * {@link interleave} order) that accepts. An attempt starts when the one
 * before it fails, or `attemptDelay` ms after it started while it is still
 * pending; once one connects, the pending others are cancelled in the kernel
 * and their fds closed.
 *
 * @returns the connected fd (the caller owns it); rejects when every attempt
 * failed with the error of the first attempt to fail (as is when it was the
 * only one; else an `IoError` of its code whose message lists every attempt
 * and whose `cause` is an `AggregateError` of them all), or with the abort
 * reason once every attempt's fd is closed
 */
export function connectFirst(addresses: readonly ResolvedAddress[], port: number, opts: AttemptOptions): Promise<number> {
  const order = interleave(addresses)
  const signal = opts.signal
  if (signal?.aborted === true) return Promise.reject(abortError(signal))
  if (order.length === 0) return Promise.reject(new TypeError('connect: no address to try'))
  const p = getProactor()
  return new Promise<number>((resolve, reject) => {
    /** Attempts in flight, each cancelled by its own controller. */
    const live = new Set<AbortController>()
    const failures: { address: string; error: unknown }[] = []
    let next = 0
    let timer: NodeJS.Timeout | undefined
    let decided = false
    /** How the Promise settles once the last attempt has released its fd (failure and abort only). */
    let settle: (() => void) | undefined

    const stop = (): void => {
      decided = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      for (const c of live) c.abort()
    }
    const settleWhenIdle = (): void => {
      if (settle === undefined || live.size > 0) return
      const s = settle
      settle = undefined
      s()
    }
    const onAbort = (): void => {
      stop()
      settle = () => reject(abortError(signal))
      settleWhenIdle()
    }
    const failed = (): void => {
      // RFC 8305 §5: a failed attempt starts the next one at once, not after the delay.
      if (next < order.length) return attempt()
      if (live.size > 0) return
      stop()
      reject(summary(failures, opts.handle))
    }
    const attempt = (): void => {
      clearTimeout(timer)
      if (decided || next >= order.length) return
      const a = order[next++]!
      let fd: number
      try {
        fd = p.socket(a.family === 6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0)
      } catch (err) {
        failures.push({ address: a.address, error: err })
        return failed()
      }
      const ctl = new AbortController()
      live.add(ctl)
      const addr = encodeInet(a.address, port)
      const where = a.family === 6 ? `[${a.address}]:${port}` : `${a.address}:${port}`
      run({ kind: 'connect', fd, addr }, { signal: ctl.signal }, { handle: where }).then(
        () => {
          live.delete(ctl)
          if (decided) {
            // Connected after another won, or after the abort: not wanted.
            sockets.closeSync(fd)
            return settleWhenIdle()
          }
          stop()
          resolve(fd)
        },
        (err: unknown) => {
          live.delete(ctl)
          sockets.closeSync(fd) // the kernel is done with it: the completion (or its cancel) has arrived
          if (decided) return settleWhenIdle()
          failures.push({ address: where, error: err })
          failed()
        },
      )
      if (next < order.length) timer = setTimeout(attempt, opts.attemptDelay)
    }

    signal?.addEventListener('abort', onAbort, { once: true })
    attempt()
  })
}

/** The error when every attempt failed: the first failure's, naming them all when there were several. */
function summary(failures: readonly { address: string; error: unknown }[], handle: string): unknown {
  const first = failures[0]!.error
  if (failures.length === 1 || !IoError.is(first)) return first
  const each = failures.map((f) => `${f.address}: ${IoError.is(f.error) ? f.error.code : String(f.error)}`).join(', ')
  return new IoError(first.errno, 'connect', handle, {
    code: first.code,
    message: `connect failed: ${first.code} (${handle}; tried ${each})`,
    cause: new AggregateError(failures.map((f) => f.error), `every connection attempt to ${handle} failed`),
  })
}
