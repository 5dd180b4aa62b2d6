/**
 * The backend choice and the proactor's life: the backend the project asked for, a closed proactor replaced on the next call, and processes that exit by themselves with nothing left on the loop.
 * On whichever backend the vitest project selects (`RINGIO_BACKEND`), through the public API, against the real kernel.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildOnce } from '../../../test/helpers/build-once.js'
import { backend, closeProactor, getProactor, nop, type Completion } from './transport.js'
import { BACKEND } from '../test/helpers/fds.js'
import { runNode, settleWithin } from '../test/helpers/core-fixtures.js'


describe(`backend on the ${BACKEND} backend`, () => {
  it('runs the backend the project asked for', () => {
    expect(backend()).toBe(BACKEND)
  })

  describe('closeProactor', () => {
    it('an operation on a closed proactor throws at the call site; the next one gets a new proactor', async () => {
      const p = getProactor()
      const pending = nop() // in flight when the proactor closes
      closeProactor()
      expect(p.closed).toBe(true)
      const c: Completion = { complete: () => expect.fail('a closed proactor delivered a completion') }
      expect(() => p.start({ kind: 'nop' }, c)).toThrow(/closed/)
      // What was in flight is not left dangling: it settles (completed, or ECANCELED).
      const out = await settleWithin(pending, 1000)
      expect(out.state).not.toBe('pending')
      if (out.state === 'rejected') expect(out.reason).toMatchObject({ code: 'ECANCELED' })
      expect(await nop()).toBe(0)
      expect(getProactor()).not.toBe(p)
    })
  })

  describe('process lifetime', () => {
    const coreDist = fileURLToPath(new URL('../dist/transport.js', import.meta.url))
    beforeAll(() => buildOnce(() => !existsSync(coreDist)), 300_000)

    it.each([
      ['only creates the proactor', ''],
      ['creates the proactor and awaits one nop', 'if ((await nop()) !== 0) process.exit(3)'],
      ['unsubscribes an interval and starts an unref-ed nop', "interval(1000).subscribe().unsubscribe(); nop({ ref: false }).catch(() => {});"],
    ])('a script that %s exits by itself with code 0', async (_what, body) => {
      const scratch = fileURLToPath(new URL('../../../scratch/', import.meta.url))
      mkdirSync(scratch, { recursive: true })
      const sdir = mkdtempSync(join(scratch, 'core-exit-'))
      try {
        const script = join(sdir, 'child.mjs')
        writeFileSync(
          script,
          [
            `import { backend, getProactor, interval, nop } from ${JSON.stringify(coreDist)}`,
            'getProactor()',
            body,
            'console.log(backend())',
          ].join('\n'),
        )
        const t0 = performance.now()
        const { code, signal, stdout, stderr } = await runNode(script, 5000)
        expect({ code, signal, stderr }).toEqual({ code: 0, signal: null, stderr: '' })
        expect(stdout.trim()).toBe(BACKEND)
        expect(performance.now() - t0).toBeLessThan(5000)
      } finally {
        rmSync(sdir, { recursive: true, force: true })
      }
    })
  })
})
