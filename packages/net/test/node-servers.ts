/**
 * Helpers of the Node-server tests (node-http, node-tls): real `curl` and
 * `openssl` processes run asynchronously (the server under test lives in this
 * process), a self-signed certificate, and a raw TCP client.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { connect as nodeConnect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** What a finished child process left. */
export interface RunResult {
  code: number | null
  stdout: Buffer
  stderr: string
}

/** Runs `cmd args`, feeding `input` (then EOF) on stdin; kills it after `timeoutMs`. */
export function run(cmd: string, args: string[], opts: { input?: Buffer | string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    let err = ''
    p.stdout.on('data', (d: Buffer) => out.push(d))
    p.stderr.on('data', (d: Buffer) => (err += d.toString()))
    p.stdin.on('error', () => {}) // the child may exit before reading all of it
    const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 15_000)
    p.on('error', (e) => (clearTimeout(timer), reject(e)))
    p.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout: Buffer.concat(out), stderr: err })
    })
    if (opts.input !== undefined) p.stdin.end(opts.input)
    else p.stdin.end()
  })
}

/** A self-signed P-256 certificate for CN=localhost made by the openssl CLI; `dispose()` removes its files. */
export function selfSignedCert(): { key: Buffer; cert: Buffer; certFile: string; dispose: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'ringio-cert-'))
  const keyFile = join(dir, 'key.pem')
  const certFile = join(dir, 'cert.pem')
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', keyFile, '-out', certFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  if (r.status !== 0) throw new Error(`openssl req failed: ${r.stderr?.toString()}`)
  return { key: readFileSync(keyFile), cert: readFileSync(certFile), certFile, dispose: () => rmSync(dir, { recursive: true, force: true }) }
}

/** A raw node:net client on 127.0.0.1:`port`, with everything it received and when it saw the server's close. */
export async function rawClient(port: number): Promise<{ socket: Socket; received: () => string; closedAt: () => number | null }> {
  const socket = nodeConnect({ host: '127.0.0.1', port })
  let data = ''
  let closedAt: number | null = null
  socket.on('data', (d: Buffer) => (data += d.toString('latin1')))
  socket.on('error', () => {})
  socket.on('close', () => (closedAt = Date.now()))
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  return { socket, received: () => data, closedAt: () => closedAt }
}

/** Resolves with the error code of a connect to `port` (e.g. `'ECONNREFUSED'`), or `'connected'`. */
export function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = nodeConnect({ host: '127.0.0.1', port })
    s.once('connect', () => (s.destroy(), resolve('connected')))
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message))
  })
}
