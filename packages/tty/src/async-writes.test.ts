import type { Completion, OpId, Proactor, StartOptions } from '@ringio/core'
import { describe, expect, it } from 'vitest'
import { withAsyncWrites } from './async-writes.js'

describe('withAsyncWrites', () => {
  it('starts write and writev with async: true, keeps the caller’s other options, leaves other operations alone', () => {
    const seen: [string, StartOptions | undefined][] = []
    const rec =
      (name: string) =>
      (...args: unknown[]): OpId => {
        seen.push([name, args[args.length - 1] as StartOptions | undefined])
        return 1
      }
    const p = { backend: 'uring', write: rec('write'), writev: rec('writev'), poll: rec('poll') } as unknown as Proactor
    const c: Completion = { complete() {} }
    const a = withAsyncWrites(p)
    a.write(1, Buffer.from('x'), -1, c)
    a.writev(1, [Buffer.from('y')], -1, c, { ref: false })
    a.poll(1, 4, false, c, { ref: false })
    expect(seen).toEqual([
      ['write', { async: true }],
      ['writev', { ref: false, async: true }],
      ['poll', { ref: false }],
    ])
    expect(a.backend).toBe('uring')
  })
})
