/**
 * Fixtures of the poll backend's own tests (`packages/core/src/poll/*.test.ts`):
 * a poll proactor per test, a completion target that records every event,
 * and the fds those tests drive (a non-blocking socketpair, a blocking pipe).
 */
import { readdirSync } from 'node:fs'
import { expect, onTestFinished } from 'vitest'
import type { Completion, Proactor } from '../../src/proactor.js'
import { createPollProactor } from '../../src/poll/poll-proactor.js'
import { IORING_CQE_F_MORE } from '../../src/uring/abi.js'
import * as sys from '../../src/poll/sys.js'
import { statusFlags } from '../../src/sys/fd-flags.js'
import { pipe2, socketpair } from './fds.js'

const AF_UNIX = 1
export const AF_INET = 2
export const SOCK_STREAM = 1
/** `IORING_CQE_F_MORE`: the poll backend flags multishot completions as io_uring does. */
export const MORE = IORING_CQE_F_MORE

/**
 * True under the `uring` vitest project: the poll backend's own tests test
 * it whatever backend the project selects, so they run once, under `poll`.
 */
export const otherProject = process.env['RINGIO_BACKEND'] === 'uring'

/** A poll proactor for the running test, closed when the test ends. */
export function pollProactor(): Proactor {
  const p = createPollProactor()
  onTestFinished(() => p.shutdown())
  return p
}

/** One completion: `[res, flags]`. */
export type Cqe = [res: number, flags: number]

/** A completion target that records every event and can be awaited. */
export class Rec implements Completion {
  readonly events: Cqe[] = []
  private wake: (() => void) | null = null
  complete(res: number, flags: number): void {
    this.events.push([res, flags])
    this.wake?.()
  }
  /** Resolves once `n` events arrived. */
  async upTo(n: number): Promise<Cqe[]> {
    while (this.events.length < n) await new Promise<void>((r) => (this.wake = r))
    return this.events
  }
  async first(): Promise<Cqe> {
    return (await this.upTo(1))[0]!
  }
}

/** How many fds this process has open. */
export const fdCount = (): number => readdirSync('/proc/self/fd').length
/** The fd's O_NONBLOCK bit (0 when blocking). */
export const nonblock = (fd: number): number => statusFlags(fd) & sys.O_NONBLOCK

/** A non-blocking Unix stream socketpair. */
export function socketPair(): [number, number] {
  const sv = Buffer.alloc(8)
  expect(socketpair(AF_UNIX, SOCK_STREAM | sys.SOCK_NONBLOCK | sys.SOCK_CLOEXEC, 0, sv)).toBe(0)
  return [sv.readInt32LE(0), sv.readInt32LE(4)]
}

/** A blocking pipe `[read, write]`. */
export function blockingPipe(): [number, number] {
  const fds = Buffer.alloc(8)
  expect(pipe2(fds, sys.O_CLOEXEC)).toBe(0)
  return [fds.readInt32LE(0), fds.readInt32LE(4)]
}
