import { readdirSync, readlinkSync } from 'node:fs'
import { backend } from '@ringio/core/transport'
import { firstValueFrom, toArray, take } from 'rxjs'
import { afterEach, describe, expect, it } from 'vitest'
import { makePipe, type Pipe } from '../test/helpers/fifo.js'
import { fdFlags as flags, keepsStdioFlags } from '../test/helpers/stdio-flags.js'
import type { InputEvent } from './input-event.js'
import { input } from './input.js'

const O_NONBLOCK = 0o4000
/** How many of this process's fds refer to the same FIFO as `fd` (its own included). */
const sameFifo = (fd: number): number => {
  const target = readlinkSync(`/proc/self/fd/${fd}`)
  return readdirSync('/proc/self/fd').filter((n) => {
    try {
      return readlinkSync(`/proc/self/fd/${n}`) === target
    } catch {
      return false
    }
  }).length
}
const text = (evs: InputEvent[]): unknown[] => evs.map((e) => (e.type === 'data' ? e.data.toString() : e.type))
const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms))

describe('input() on a pipe (in process)', () => {
  keepsStdioFlags()
  let p: Pipe | undefined
  afterEach(() => {
    p?.close()
    p = undefined
  })

  it('emits data then end, and leaves a shared description exactly as it was', async () => {
    p = makePipe()
    const before = flags(p.r)
    const all = firstValueFrom(input(p.r, { shared: true }).pipe(toArray()))
    await p.writeAll(Buffer.from('hello'), 1024, 0)
    await tick()
    expect(flags(p.r)).toBe(before)
    p.close() // the last writer goes: the real end
    expect(text(await all)).toEqual(['hello', 'end'])
  })

  it('hands bytes that raced an unsubscribe to the next subscriber; none are lost', async () => {
    p = makePipe()
    const first = await new Promise<string>((resolve) => {
      const sub = input(p!.r, { shared: true }).subscribe((ev) => {
        if (ev.type === 'data') {
          sub.unsubscribe()
          resolve(ev.data.toString())
        }
      })
      void p!.writeAll(Buffer.from('one'), 1024, 0)
    })
    await p.writeAll(Buffer.from('two'), 1024, 0)
    const second = await firstValueFrom(input(p.r, { shared: true }).pipe(take(1)))
    expect(first).toBe('one')
    expect(text([second])).toEqual(['two'])
  })

  it('lets one subscriber read an fd at a time', async () => {
    p = makePipe()
    const sub = input(p.r, { shared: true }).subscribe()
    try {
      await expect(firstValueFrom(input(p.r, { shared: true }))).rejects.toThrow(/already being read/)
    } finally {
      sub.unsubscribe()
    }
  })

  it('pace() holds the next read until its promise settles', async () => {
    p = makePipe()
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const seen: string[] = []
    const sub = input(p.r, { shared: true, pace: () => gate }).subscribe((ev) => {
      if (ev.type === 'data') seen.push(ev.data.toString())
    })
    await p.writeAll(Buffer.from('a'), 1024, 0)
    await tick()
    await p.writeAll(Buffer.from('b'), 1024, 0)
    await tick()
    expect(seen).toEqual(['a'])
    release()
    await tick()
    expect(seen).toEqual(['a', 'b'])
    sub.unsubscribe()
  })

  it('a pace() promise that rejects ends the stream with its reason and stops reading; no byte is lost', async () => {
    p = makePipe()
    const failure = new Error('the writer failed')
    const seen: string[] = []
    const errored = new Promise<unknown>((resolve) =>
      input(p!.r, { shared: true, pace: () => Promise.reject(failure) }).subscribe({
        next: (ev) => void (ev.type === 'data' && seen.push(ev.data.toString())),
        error: resolve,
      }),
    )
    await p.writeAll(Buffer.from('a'), 1024, 0)
    expect(await errored).toBe(failure)
    await p.writeAll(Buffer.from('b'), 1024, 0)
    await tick()
    expect(seen).toEqual(['a'])
    // The reader let go of the fd: the next subscriber reads on from there.
    const next = await firstValueFrom(input(p.r, { shared: true }).pipe(take(1)))
    expect(text([next])).toEqual(['b'])
  })

  it('reads a shared pipe through a private description, held only while subscribed', async () => {
    p = makePipe()
    const before = sameFifo(p.r) // the two ends this test holds
    const sub = input(p.r, { shared: true }).subscribe()
    await tick()
    expect(sameFifo(p.r) - before).toBe(1)
    sub.unsubscribe()
    await tick(50)
    expect(sameFifo(p.r)).toBe(before)
  })

  it('owned (shared: false): may make the fd non-blocking on the poll backend only', async () => {
    p = makePipe()
    const sub = input(p.r, { shared: false }).subscribe()
    await tick()
    expect((flags(p.r) & O_NONBLOCK) !== 0).toBe(backend() === 'poll')
    sub.unsubscribe()
  })

  it('rejects bad arguments at the call site', () => {
    expect(() => input(-1, { shared: true })).toThrow(TypeError)
    expect(() => input(5, {} as never)).toThrow(/shared/)
  })
})
