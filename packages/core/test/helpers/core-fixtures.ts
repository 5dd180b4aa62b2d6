/**
 * Fixtures of core's contract tests (`packages/core/src/*.test.ts`): a FIFO,
 * a TCP pair of the backend's own sockets, a child node process, and waits
 * that fail with what they waited for.
 */
import { execFileSync, spawn } from 'node:child_process'
import { openSync } from 'node:fs'
import { connect as netConnect } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { close, getProactor, IoError, sockets, type Completion } from '../../src/transport.js'

/** An fd number no process has open (far above RLIMIT_NOFILE): every syscall on it is EBADF. */
export const BAD_FD = 2 ** 30

export function fifo(dir: string, name: string): number {
  const path = join(dir, name)
  execFileSync('mkfifo', [path])
  return openSync(path, 'r+')
}

/** Resolves when `pred` holds (checked every millisecond or so); rejects after `ms`. */
export async function until(pred: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(1)
  }
}

/** Settles `p` or reports that it is still pending after `ms`. */
export async function settleWithin<T>(p: Promise<T>, ms: number): Promise<{ state: 'fulfilled'; value: T } | { state: 'rejected'; reason: unknown } | { state: 'pending' }> {
  let t: NodeJS.Timeout | undefined
  const pending = new Promise<{ state: 'pending' }>((r) => (t = setTimeout(() => r({ state: 'pending' }), ms)))
  try {
    return await Promise.race([
      p.then((value) => ({ state: 'fulfilled' as const, value }), (reason: unknown) => ({ state: 'rejected' as const, reason })),
      pending,
    ])
  } finally {
    clearTimeout(t)
  }
}

/**
 * A connected TCP pair on 127.0.0.1 whose ringio end `a` is a socket of the
 * backend's own (`Proactor.socket`, accepted through the proactor). The other
 * end is another ringio socket `b`, or a `node:net` socket `peer`.
 */
export async function tcpPair(opts: { nodePeer?: boolean } = {}): Promise<{
  a: number
  b: number
  peer: import('node:net').Socket | null
  cleanup: () => Promise<void>
}> {
  const AF_INET = 2
  const SOCK_STREAM = 1
  const SOL_SOCKET = 1
  const SO_REUSEADDR = 2
  const p = getProactor()
  const sin = loopbackSockaddr
  const lfd = p.socket(AF_INET, SOCK_STREAM, 0)
  sockets.setIntOption(lfd, SOL_SOCKET, SO_REUSEADDR, 1)
  sockets.bind(lfd, sin(0))
  sockets.listen(lfd, 4)
  const port = sockets.sockName(lfd).readUInt16BE(2)
  const once = (start: (c: Completion) => void): Promise<number> =>
    new Promise((resolve, reject) => start({ complete: (res) => (res < 0 ? reject(new IoError(-res, 'setup')) : resolve(res)) }))
  const accepted = once((c) => p.start({ kind: 'accept', fd: lfd, multishot: false }, c))
  let b = -1
  let peer: import('node:net').Socket | null = null
  if (opts.nodePeer === true) {
    peer = netConnect(port, '127.0.0.1')
    await new Promise<void>((resolve, reject) => peer!.once('connect', resolve).once('error', reject))
  } else {
    b = p.socket(AF_INET, SOCK_STREAM, 0)
    const addr = sin(port)
    await once((c) => p.start({ kind: 'connect', fd: b, addr }, c))
  }
  const a = await accepted
  await close(lfd)
  return {
    a,
    b,
    peer,
    cleanup: async () => {
      peer?.destroy()
      await close(a).catch(() => {})
      if (b >= 0) await close(b).catch(() => {})
    },
  }
}

/** Runs `node script` and collects its exit; kills it (and reports `signal`) after `ms`. */
export function runNode(script: string, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const killer = setTimeout(() => child.kill('SIGKILL'), ms)
    child.on('close', (code, signal) => {
      clearTimeout(killer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

/** `struct sockaddr_in` for 127.0.0.1:`port`. */
export function loopbackSockaddr(port: number): Buffer {
  const b = Buffer.alloc(16)
  b.writeUInt16LE(2 /* AF_INET */, 0)
  b.writeUInt16BE(port, 2)
  b.set([127, 0, 0, 1], 4)
  return b
}
