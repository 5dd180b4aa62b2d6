/**
 * Waiting in tests without hanging them: a sleep, a poll for a condition, and
 * a deadline on a Promise, each failing with what it was waiting for.
 */

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** Resolves when `pred` holds (checked every millisecond); rejects after `ms` with `what` in the message. */
export async function until(pred: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(1)
  }
}

/** `p`, or a rejection after `ms` with `what` in the message. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)))
  return Promise.race([p, timeout]).finally(() => clearTimeout(t))
}
