import { describe, expect, it } from 'vitest'
import { UringProactor } from './uring-proactor.js'
import { within } from '../../../../test/helpers/waiting.js'
import type { Completion } from '../proactor.js'
import { IORING_CQE_F_MORE, IORING_CQE_F_NOTIF } from './abi.js'

function once(start: (c: Completion) => number): Promise<[number, number]> {
  return new Promise((resolve) => start({ complete: (res, flags) => resolve([res, flags]) }))
}

describe('UringProactor', () => {
  it('round-trips a NOP on the loop', async () => {
    const p = new UringProactor()
    try {
      const [res] = await once((c) => p.start({ kind: 'nop' }, c))
      expect(res).toBe(0)
      expect(p.pending).toBe(0)
    } finally {
      p.shutdown()
    }
  })

  it('submits every submitBatch operations started outside a dispatch, in doubling batches; 0 waits for the flush', async () => {
    const noop = { complete: () => undefined }
    const p = new UringProactor()
    try {
      for (let i = 0; i < 7; i++) p.start({ kind: 'nop' }, noop)
      expect(p.ring.unsubmitted).toBe(7)
      p.start({ kind: 'nop' }, noop) // the 8th (the default batch): handed to the kernel now
      expect(p.ring.unsubmitted).toBe(0)
      for (let i = 0; i < 15; i++) p.start({ kind: 'nop' }, noop)
      expect(p.ring.unsubmitted).toBe(15)
      p.start({ kind: 'nop' }, noop) // the 16th: the batch doubled
      expect(p.ring.unsubmitted).toBe(0)
      for (let i = 0; i < 31; i++) p.start({ kind: 'nop' }, noop)
      expect(p.ring.unsubmitted).toBe(31)
      await Promise.resolve() // the flush submits the rest and resets the batch to 8
      expect(p.ring.unsubmitted).toBe(0)
      for (let i = 0; i < 8; i++) p.start({ kind: 'nop' }, noop)
      expect(p.ring.unsubmitted).toBe(0)
      await new Promise((r) => setTimeout(r, 10))
      expect(p.pending).toBe(0)
    } finally {
      p.shutdown()
    }
    const q = new UringProactor({ submitBatch: 0 })
    try {
      for (let i = 0; i < 100; i++) q.start({ kind: 'nop' }, noop)
      expect(q.ring.unsubmitted).toBe(100)
      await Promise.resolve()
      expect(q.ring.unsubmitted).toBe(0) // one enter, from the microtask flush
    } finally {
      q.shutdown()
    }
    expect(() => new UringProactor({ submitBatch: -1 })).toThrow(RangeError)
  })

  it('completes 100 000 NOPs each with its own user_data', async () => {
    const p = new UringProactor({ entries: 256 })
    try {
      const n = 100_000
      const seen = new Uint8Array(n)
      let done = 0
      await new Promise<void>((resolve) => {
        for (let i = 0; i < n; i++) {
          p.start({ kind: 'nop' }, { complete: (res) => { expect(res).toBe(0); seen[i]!++; if (++done === n) resolve() } })
        }
      })
      expect(seen.every((x) => x === 1)).toBe(true)
    } finally {
      p.shutdown()
    }
  })

  it('fires a timeout and cancels another one', async () => {
    const p = new UringProactor()
    try {
      const t0 = performance.now()
      const [res] = await once((c) => p.start({ kind: 'timeout', ms: 20, repeat: false }, c))
      expect(res).toBe(-62)
      expect(performance.now() - t0).toBeGreaterThanOrEqual(15)
      const r = once((c) => { const id = p.start({ kind: 'timeout', ms: 10_000, repeat: false }, c); p.cancel(id); return id })
      expect((await r)[0]).toBe(-125)
    } finally {
      p.shutdown()
    }
  })
})

describe('UringProactor sockets', () => {
  it('a send on a loopback TCP pair built from the proactor\'s own ops completes once, with the bytes', async () => {
    const { getProactor } = await import('../backend.js')
    const { sockets } = await import('../transport.js')
    const p = new UringProactor()
    try {
      // A connected TCP pair on loopback, built from the proactor's own ops.
      const lfd = p.socket(2, 1, 0)
      const addr = Buffer.alloc(16)
      addr.writeUInt16LE(2, 0)
      addr.writeUInt32BE(0x7f000001, 4)
      sockets.bind(lfd, addr)
      sockets.listen(lfd, 4)
      const bound = sockets.sockName(lfd)
      const cfd = p.socket(2, 1, 0)
      const accepted = once((c) => p.start({ kind: 'accept', fd: lfd, multishot: false }, c))
      expect((await once((c) => p.start({ kind: 'connect', fd: cfd, addr: bound }, c)))[0]).toBe(0)
      const [sfd] = await accepted
      const payload = Buffer.alloc(64 * 1024, 7)
      const events: [number, number][] = []
      await new Promise<void>((resolve) =>
        p.start({ kind: 'send', fd: cfd, buf: payload, flags: 0x4000 }, {
          complete: (res, flags) => {
            events.push([res, flags])
            if ((flags & IORING_CQE_F_MORE) === 0) resolve()
          },
        }),
      )
      expect(events.length).toBe(1)
      expect(events[0]![0]).toBeGreaterThan(0)
      let got = 0
      const buf = Buffer.alloc(65536)
      while (got < events[0]![0]) {
        const [n] = await once((c) => p.start({ kind: 'recv', fd: sfd, buf, flags: 0 }, c))
        expect(n).toBeGreaterThan(0)
        expect(buf.subarray(0, n).every((b) => b === 7)).toBe(true)
        got += n
      }
      for (const fd of [lfd, cfd, sfd]) await once((c) => p.start({ kind: 'close', fd }, c))
      expect(getProactor).toBeTypeOf('function')
    } finally {
      p.shutdown()
    }
  })

  it('runs inside a Worker with a ring of its own', async () => {
    const { Worker } = await import('node:worker_threads')
    // esbuild's API, not `npx esbuild`: npx's own start-up took seconds on a loaded machine (a timeout 1 run in 5).
    const { buildSync } = await import('esbuild')
    const { mkdirSync, rmSync } = await import('node:fs')
    const dir = new URL('../../../../scratch/', import.meta.url)
    mkdirSync(dir, { recursive: true })
    // One file per test process: both vitest projects run this test at the same time.
    const out = new URL(`worker-ring-${process.pid}.mjs`, dir).pathname
    buildSync({ entryPoints: [new URL('./uring-proactor.ts', import.meta.url).pathname], bundle: true, platform: 'node', format: 'esm', external: ['koffi'], outfile: out, logLevel: 'error' })
    const w = new Worker(
      `import { UringProactor } from ${JSON.stringify(out)}; import { parentPort } from 'node:worker_threads';
       const p = new UringProactor(); let n = 0;
       const c = { complete: (res) => { if (res !== 0) throw new Error('bad'); if (++n < 1000) p.start(op, c); else { p.shutdown(); parentPort.postMessage(n) } } };
       const op = { kind: 'nop' };
       p.start(op, c)`,
      { eval: true },
    )
    const done = new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject) }).finally(() => rmSync(out, { force: true }))
    const n = await within(done, 15_000, "the Worker's 1000 NOPs on its own ring").catch((err: unknown) => (void w.terminate(), Promise.reject(err)))
    expect(n).toBe(1000)
    // Closed, the ring holds nothing: the Worker's loop ends by itself (no terminate()).
    const [code] = (await new Promise((resolve) => w.once('exit', (c) => resolve([c])))) as [number]
    expect(code).toBe(0)
  })
})
