import { closeSync } from 'node:fs'
import { getProactor } from '@ringio/core'
import { describe, expect, it } from 'vitest'
import { makePipe } from '../test/helpers/fifo.js'
import { keepsStdioFlags } from '../test/helpers/stdio-flags.js'
import { withEpipeExit } from './epipe-exit.js'

const settle = (ms = 50): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('withEpipeExit (in process)', () => {
  keepsStdioFlags()

  it.each([
    [true, []],
    [false, [-32]],
  ])('a write to a pipe whose reader left: onEpipe() returning %s drops the completion (or passes -EPIPE on)', async (exiting, expected) => {
    const pipe = makePipe()
    closeSync(pipe.r)
    try {
      let asked = 0
      const p = withEpipeExit(getProactor(), () => (asked++, exiting))
      const results: number[] = []
      p.write(pipe.w, Buffer.from('lost'), -1, { complete: (res) => results.push(res) })
      await settle()
      expect(asked).toBe(1)
      expect(results).toEqual(expected)
    } finally {
      closeSync(pipe.w)
    }
  })

  it('every other result goes through untouched, without asking', async () => {
    const pipe = makePipe()
    try {
      let asked = 0
      const p = withEpipeExit(getProactor(), () => (asked++, true))
      const results: number[] = []
      p.writev(pipe.w, [Buffer.from('ab'), Buffer.from('c')], -1, { complete: (res) => results.push(res) })
      await settle()
      expect(results).toEqual([3])
      expect((await pipe.readN(3, 16, 0)).toString()).toBe('abc')
      expect(asked).toBe(0)
    } finally {
      pipe.close()
    }
  })
})
