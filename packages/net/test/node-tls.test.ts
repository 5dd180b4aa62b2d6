/**
 * Node's TLS servers (`tls.Server`, `https.Server`) served on ringio
 * connections with `serveNode`, driven by real `openssl s_client` and
 * `curl -k` against a self-signed certificate made at the start.
 */
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer as createHttps } from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer as createTls, type TLSSocket } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { serveNode } from '../src/serve-node.js'
import { fdCount, pattern, until, within } from './helpers.js'
import { run, selfSignedCert } from './node-servers.js'

const BACKEND = process.env['RINGIO_BACKEND']
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
let cert: ReturnType<typeof selfSignedCert>

beforeAll(async () => {
  cert = selfSignedCert()
  // The first server sets up the ring, its eventfd and the read pool: fds that stay. Count after that.
  const serving = await serveNode(createTls({ key: cert.key, cert: cert.cert }), { host: '127.0.0.1', port: 0 })
  await serving.close()
})
afterAll(() => cert.dispose())

describe(`serveNode(tls.Server) with openssl s_client (${BACKEND})`, () => {
  it('completes the handshake, echoes, and the TLS socket knows its addresses', async () => {
    const fds = fdCount()
    const seen: Record<string, unknown>[] = []
    const server = createTls({ key: cert.key, cert: cert.cert }, (s: TLSSocket) => {
      seen.push({ remoteAddress: s.remoteAddress, remotePort: s.remotePort, remoteFamily: s.remoteFamily, localPort: s.localPort, address: s.address(), protocol: s.getProtocol() })
      s.setNoDelay(true) // forwarded to the ringio connection (TCP_NODELAY)
      s.setKeepAlive(true, 1000)
      s.on('data', (d: Buffer) => {
        s.write(`echo:${d.toString()}`)
        if (d.toString().includes('bye')) s.end()
      })
    })
    const serving = await serveNode(server, { host: '127.0.0.1', port: 0 })
    const port = serving.address.port
    const r = await run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-quiet'], { input: 'hello\nbye\n' })
    expect(r.stdout.toString()).toContain('echo:hello')
    expect(r.stdout.toString()).toContain('bye')
    expect(seen.length).toBe(1)
    expect(seen[0]).toMatchObject({ remoteAddress: '127.0.0.1', remoteFamily: 'IPv4', localPort: port, address: { address: '127.0.0.1', family: 'IPv4', port } })
    expect(seen[0]!['remotePort']).toBeGreaterThan(0)
    expect(seen[0]!['protocol']).toMatch(/^TLSv1\.[23]$/)
    await within(serving.close(), 5000, 'server close')
    await until(() => fdCount() === fds, 2000, 'every fd released')
  })
})

describe(`serveNode(https.Server) with curl -k (${BACKEND})`, () => {
  it('keeps one connection alive across requests, knows the client address, echoes a 3 MB upload byte-exact', async () => {
    const fds = fdCount()
    const server = createHttps({ key: cert.key, cert: cert.cert }, (req: IncomingMessage, res: ServerResponse) => {
      if (req.method === 'GET') {
        res.end(JSON.stringify({ remoteAddress: req.socket.remoteAddress, remotePort: req.socket.remotePort, encrypted: (req.socket as TLSSocket).encrypted }))
        return
      }
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => res.end(Buffer.concat(chunks)))
    })
    let connections = 0
    server.on('secureConnection', () => connections++)
    const serving = await serveNode(server, { host: '127.0.0.1', port: 0 })
    const url = `https://localhost:${serving.address.port}`
    const dir = mkdtempSync(join(tmpdir(), 'ringio-https-'))
    try {
      const body = pattern(3 << 20, 99)
      writeFileSync(join(dir, 'body'), body)
      const r = await run('curl', ['-skv', '--http1.1', '--resolve', `localhost:${serving.address.port}:127.0.0.1`, '-w', '\\n%{local_port}\\n', `${url}/a`, `${url}/b`])
      expect(r.code).toBe(0)
      expect(r.stderr.match(/Re-using existing connection/g)?.length).toBe(1)
      expect(connections).toBe(1)
      const lines = r.stdout.toString().trim().split('\n')
      expect(JSON.parse(lines[0]!)).toEqual({ remoteAddress: '127.0.0.1', remotePort: Number(lines[1]), encrypted: true })
      expect(JSON.parse(lines[2]!)).toEqual(JSON.parse(lines[0]!))
      const up = await run('curl', ['-sk', '--http1.1', '--resolve', `localhost:${serving.address.port}:127.0.0.1`, '--data-binary', `@${join(dir, 'body')}`, `${url}/up`])
      expect(up.code).toBe(0)
      expect(up.stdout.length).toBe(body.length)
      expect(sha(up.stdout)).toBe(sha(body))
    } finally {
      rmSync(dir, { recursive: true, force: true })
      await within(serving.close(), 5000, 'server close')
    }
    await until(() => fdCount() === fds, 2000, 'every fd released')
  })
})
