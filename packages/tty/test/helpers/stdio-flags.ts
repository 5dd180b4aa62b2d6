/**
 * STYLE.md §10: assert that the test process's own fds 0-2 keep their file
 * status flags around every in-process tty test (F_GETFL only reads them).
 */
import { readFileSync } from 'node:fs'
import { afterEach, beforeEach, expect } from 'vitest'

/** The status flags of this process's `fd`, as `/proc/self/fdinfo` shows them (read from outside the fd: no F_GETFL). */
export function fdFlags(fd: number): number {
  return parseInt(/flags:\s*(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8)
}

function flagsOf(fd: number): number | undefined {
  try {
    return fdFlags(fd)
  } catch {
    return undefined // not open
  }
}

/** Registers before/after hooks in the calling describe block (or file). */
export function keepsStdioFlags(): void {
  let before: (number | undefined)[] = []
  beforeEach(() => {
    before = [0, 1, 2].map(flagsOf)
  })
  afterEach(() => {
    expect([0, 1, 2].map(flagsOf), 'flags of fds 0-2 changed').toEqual(before)
  })
}
