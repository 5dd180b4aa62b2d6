import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll } from 'vitest'

/**
 * A fresh directory on a real (block-backed) file system for this test file,
 * removed after it: /var/tmp, not /tmp or /dev/shm, which may be tmpfs.
 */
export function scratchDir(): (name: string) => string {
  const dir = mkdtempSync(join(process.env['RINGIO_FS_TEST_DIR'] ?? '/var/tmp', `ringio-fs-${process.env['RINGIO_BACKEND']}-`))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  return (name) => join(dir, name)
}

/** Number of open fds of this process. */
export function fdCount(): number {
  return readdirSync('/proc/self/fd').length
}

/** A deterministic pseudo-random generator (xorshift32), so failures reproduce. */
export function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1
  return (n) => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x % n
  }
}

/** `n` bytes of pseudo-random data. */
export function randomBytes(rand: (n: number) => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n)
  for (let i = 0; i < n; i++) b[i] = rand(256)
  return b
}

/** The current backend's name, for test titles. */
export const BACKEND = process.env['RINGIO_BACKEND'] ?? 'auto'
