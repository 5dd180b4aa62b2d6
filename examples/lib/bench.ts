/**
 * What the bench drivers (`bench-proxy`, `bench-resp`, `bench-http`) share:
 * CPU pinning, a free port, waiting for a server to accept, and reading a
 * process's CPU time and RSS from /proc.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { availableParallelism } from 'node:os'

let canPin: boolean | undefined

/** `cmd args` pinned to `cpu` with taskset (as is where taskset or a second CPU is missing). */
export function pinned(cpu: number, cmd: string, args: string[]): [string, string[]] {
  canPin ??= availableParallelism() > 1 && spawnSync('taskset', ['-c', '0', 'true']).status === 0
  return canPin ? ['taskset', ['-c', String(cpu), cmd, ...args]] : [cmd, args]
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as { port: number }).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

/** Resolves once `port` accepts a connection; rejects when `exited()` says the server died, or after 10 s. */
export async function accepting(port: number, exited: () => boolean, who: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (exited()) throw new Error(`${who}: a server exited early`)
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port }, () => (s.destroy(), resolve(true)))
      s.on('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error(`${who}: nothing listens on ${port}`)
}

/** utime + stime of `pid`, in clock ticks (1/100 s). */
export function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return Number(f[11]) + Number(f[12])
}

/** Resident set size of `pid`, in bytes. */
export function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m === null ? 0 : Number(m[1]) * 1024
}

/** The median (the upper one of an even count). */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** The value after `--name` on the command line, or `def`. */
export function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? def : process.argv[i + 1]!
}
