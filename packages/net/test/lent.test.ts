/**
 * The zero-copy mode (`lent$`, issue 4 section 1): chunks lent from the
 * shared pool, each with a `release()`. The same cancel-safety as `data$`:
 * unsubscribing and subscribing again loses nothing — and every chunk a
 * lent$ subscriber gets, replayed or live, has a callable release().
 */
import { firstValueFrom, EmptyError } from 'rxjs'
import { describe, expect, it } from 'vitest'
import type { LentChunk } from '@ringio/net'
import { readPool } from '../src/read-pool.js'
import { pair, pattern, sleep, within } from './helpers.js'

const BACKEND = process.env['RINGIO_BACKEND']

describe(`lent$ (${BACKEND})`, () => {
  it('lends pool views that go back to the pool on release()', async () => {
    const { client, server, stop } = await pair()
    try {
      const data = pattern(1 << 20, 61)
      const got: Buffer[] = []
      let eof = false
      const pool = readPool()
      let minAvailable = pool.count
      server.lent$.subscribe({
        next: (c) => {
          got.push(Buffer.from(c.data)) // copy out, then give the buffer back
          minAvailable = Math.min(minAvailable, pool.available)
          c.release()
          c.release() // idempotent
        },
        complete: () => (eof = true),
      })
      await client.write(data)
      await client.end()
      await within((async () => { while (!eof) await sleep(2) })(), 5000, 'EOF')
      expect(Buffer.concat(got).equals(data)).toBe(true)
      expect(minAvailable).toBeLessThan(pool.count) // the chunks really were pool buffers
      expect(pool.available).toBe(pool.count)
    } finally {
      stop()
    }
  })

  it('reading chunk by chunk with firstValueFrom(lent$) loses nothing and every chunk has a callable release()', async () => {
    const { client, server, stop } = await pair()
    try {
      const data = pattern(2 << 20, 62)
      void client.write(data).then(() => client.end())
      const got: Buffer[] = []
      const releaseErrors: string[] = []
      for (;;) {
        let chunk: LentChunk
        try {
          chunk = await within(firstValueFrom(server.lent$), 5000, 'a lent chunk')
        } catch (e) {
          if (e instanceof EmptyError) break
          throw e
        }
        got.push(Buffer.from(chunk.data))
        try {
          chunk.release()
        } catch (e) {
          releaseErrors.push(String(e))
        }
      }
      expect(Buffer.concat(got).equals(data)).toBe(true)
      // Replayed chunks (kept while no one was subscribed) are owned copies: release() must still be callable.
      expect(releaseErrors.slice(0, 3)).toEqual([])
    } finally {
      stop()
    }
  })
})
