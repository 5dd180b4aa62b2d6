/**
 * Node's https server on ringio connections, with a self-signed certificate
 * made at start by the openssl CLI in a temp dir (removed at exit). Serves
 * until SIGINT/SIGTERM, then closes gracefully.
 *
 *   node examples/dist/tls-server.js [--port 8443] [--host 127.0.0.1]
 *   curl -k https://127.0.0.1:8443/
 *
 * Needs the `openssl` command (Debian's `openssl` package).
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TLSSocket } from 'node:tls'
import { parseArgs } from 'node:util'
import { backend } from '@ringio/core'
import { serveNode } from '@ringio/net'

const { values } = parseArgs({ options: { port: { type: 'string', default: '8443' }, host: { type: 'string', default: '127.0.0.1' } } })

/** A self-signed P-256 certificate for CN=localhost, valid one day. */
function selfSigned(): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'ringio-tls-'))
  try {
    const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost']
    const r = spawnSync('openssl', [...args, '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: ['ignore', 'ignore', 'pipe'] })
    if (r.error !== undefined || r.status !== 0) throw new Error(`tls-server: openssl failed (is it installed?): ${r.error?.message ?? r.stderr.toString()}`)
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const server = createServer({ ...selfSigned(), keepAliveTimeout: 5000 }, (req, res) => {
  const s = req.socket as TLSSocket
  res.setHeader('content-type', 'text/plain; charset=utf-8')
  res.end(`hello from node:https on ringio (${backend()})\n${s.getProtocol()} ${s.getCipher().name}, client ${s.remoteAddress}:${s.remotePort}\n`)
})

const serving = await serveNode(server, { host: values.host, port: Number(values.port) })
console.log(`https://${serving.address.address}:${serving.address.port}/ (node:https on ringio, self-signed: curl -k)`)

let stopping = false
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) process.exit(1)
    stopping = true
    console.log(`${sig}: closing`)
    const cut = setTimeout(() => server.closeAllConnections(), 5000)
    cut.unref()
    void serving.close().then(() => console.log('closed'))
  })
}
