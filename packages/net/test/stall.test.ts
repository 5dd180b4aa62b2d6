/**
 * Issue 12, item 1 — a TCP stream never stalls. On Linux 6.18 a multishot
 * RECV on loopback with a small receive buffer lost its wakeup after long
 * streaks and both ends then waited forever (DESIGN.md, "Measured facts").
 * This drives exactly that pattern: the reader's SO_RCVBUF at 16 KiB, the
 * writer keeping ~4 MiB queued in random 1 B..256 KiB writes, rounds of
 * 256 MiB checked byte for byte. A watchdog declares a stall when no byte
 * arrives for 3 s, prints the state (STALL-DUMP on stderr, which
 * `npm run torture` shows) and fails the test. The message channels
 * (multishot RECVMSG) and the multishot ACCEPT are driven the same way.
 */
import { describe, expect, it } from 'vitest'
import { sockets } from '@ringio/core/transport'
import { seqpacket, type Connection, type SeqpacketChannel } from '@ringio/net'
import { connect as nodeConnect } from 'node:net'
import { pair, pattern, peekQueued, rng, serve, SO_RCVBUF, SOL_SOCKET, until } from './helpers.js'

const BACKEND = process.env['RINGIO_BACKEND']
const ROUND = 256 << 20
const ROUNDS = Number(process.env['RINGIO_STALL_ROUNDS'] ?? 8)
const QUEUED = 4 << 20
const MAX_WRITE = 256 << 10
const PERIOD = 1 << 20
/** The stream is PERIOD-periodic: byte i is SRC[i % PERIOD]; SRC runs MAX_WRITE past the period so a write never wraps. */
const SRC = (() => {
  const p = pattern(PERIOD, 3)
  return Buffer.concat([p, p.subarray(0, MAX_WRITE)])
})()
const STALL_MS = 3000

interface Progress {
  sent: number
  received: number
  error: unknown
}

/** Keeps ~QUEUED bytes in `w`'s queue until `total` bytes were written. */
function produce(w: Connection, total: number, st: Progress): void {
  const r = rng(12)
  const fill = (): void => {
    while (st.sent < total && w.writableLength < QUEUED) {
      const len = Math.min(total - st.sent, 1 + Math.floor(r() * MAX_WRITE))
      const off = st.sent % PERIOD
      st.sent += len
      w.write(SRC.subarray(off, off + len)).then(fill, (e: unknown) => (st.error ??= e))
    }
  }
  fill()
}

async function dump(client: Connection, server: Connection, st: Progress): Promise<string> {
  const queuedAtReader = await peekQueued(client.fd)
  return [
    `STALL-DUMP (${BACKEND}, tcp): no byte received for ${STALL_MS} ms`,
    `  sent ${st.sent}, received ${st.received}, writer queue ${server.writableLength} bytes`,
    `  bytes waiting in the reader's socket: ${queuedAtReader}`,
  ].join('\n')
}

/** Resolves null when `done` settles, or the state dump once no byte arrived for STALL_MS. */
async function watch(st: Progress, done: Promise<void>, state: () => string | Promise<string>): Promise<string | null> {
  let last = -1
  let lastAt = Date.now()
  return new Promise<string | null>((resolve, reject) => {
    const timer = setInterval(() => {
      if (st.received !== last) {
        last = st.received
        lastAt = Date.now()
      } else if (Date.now() - lastAt > STALL_MS) {
        clearInterval(timer)
        void Promise.resolve(state()).then((d) => {
          process.stderr.write(`${d}\n`)
          resolve(d)
        })
      }
    }, 100)
    done.then(
      () => (clearInterval(timer), resolve(null)),
      (e: unknown) => (clearInterval(timer), reject(e)),
    )
  })
}

describe(`stall (${BACKEND})`, () => {
  it(`streams ${ROUNDS} x 256 MiB to a 16 KiB receive buffer without stalling`, async () => {
    const { client, server, stop } = await pair()
    try {
      sockets.setIntOption(client.fd, SOL_SOCKET, SO_RCVBUF, 16384)
      const total = ROUND * ROUNDS
      const st: Progress = { sent: 0, received: 0, error: null }
      let mismatch = -1
      const done = new Promise<void>((resolve, reject) => {
        client.data$.subscribe({
          next: (b) => {
            const off = st.received % PERIOD
            if (mismatch < 0 && !b.equals(SRC.subarray(off, off + b.length))) mismatch = st.received
            st.received += b.length
            if (st.received >= total) resolve()
          },
          error: reject,
        })
      })
      produce(server, total, st)
      const stalled = await watch(st, done, () => dump(client, server, st))
      expect(stalled).toBeNull()
      expect(st.error).toBeNull()
      expect(mismatch).toBe(-1)
      expect(st.received).toBe(total)
    } finally {
      stop()
    }
  }, 120_000)
})

describe(`stall, message channels (${BACKEND})`, () => {
  it('streams 512 MiB of SOCK_SEQPACKET messages to a small receive buffer without stalling', async () => {
    const path = `\0ringio-stall-${process.pid}-${BACKEND}`
    let rx: SeqpacketChannel | undefined
    const sub = seqpacket.listen({ path }).subscribe((ch) => (rx = ch))
    const tx = await seqpacket.connect({ path })
    await until(() => rx !== undefined, 2000, 'the accept')
    sub.unsubscribe()
    try {
      sockets.setIntOption(rx!.fd, SOL_SOCKET, SO_RCVBUF, 16384)
      const total = Number(process.env["RINGIO_STALL_MSG_MIB"] ?? 512) * 2 ** 20
      const st: Progress = { sent: 0, received: 0, error: null }
      const r = rng(5)
      let inflight = 0
      const fill = (): void => {
        while (st.sent < total && inflight < 64) {
          const len = 1 + Math.floor(r() * 32768)
          st.sent += len
          inflight++
          tx.send(SRC.subarray(0, len)).then(() => (inflight--, fill()), (e: unknown) => (st.error ??= e))
        }
      }
      const done = new Promise<void>((resolve, reject) => {
        rx!.messages$.subscribe({ next: (m) => { st.received += m.length; if (st.received >= total) resolve() }, error: reject })
      })
      fill()
      const stalled = await watch(st, done, () => `STALL-DUMP (${BACKEND}, seqpacket): sent ${st.sent}, received ${st.received}, in flight ${inflight}`)
      expect(stalled).toBeNull()
      expect(st.error).toBeNull()
    } finally {
      tx.close()
      rx?.close()
    }
  }, 120_000)
})

describe(`stall, accept (${BACKEND})`, () => {
  // The multishot ACCEPT keeps its poll armed through bursts too: 1000 clients
  // connecting at once must all be accepted, none left waiting in the backlog.
  it('accepts a burst of 1000 simultaneous connections, every one', async () => {
    let accepted = 0
    const srv = await serve((c) => {
      accepted++
      void c.write('k').then(() => c.close())
    })
    try {
      const st: Progress = { sent: 1000, received: 0, error: null }
      const done = new Promise<void>((resolve) => {
        for (let i = 0; i < st.sent; i++) {
          const s = nodeConnect({ host: '127.0.0.1', port: srv.port })
          s.once('data', () => {
            s.destroy()
            if (++st.received === st.sent) resolve()
          })
          s.on('error', (e) => (st.error ??= e))
        }
      })
      const stalled = await watch(st, done, () => `STALL-DUMP (${BACKEND}, accept): ${accepted} accepted, ${st.received} of ${st.sent} clients served`)
      expect(stalled).toBeNull()
      expect(st.error).toBeNull()
      expect(accepted).toBe(st.sent)
    } finally {
      srv.stop()
    }
  })
})
