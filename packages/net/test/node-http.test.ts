/**
 * Node's own http server (and a plain net.Server, and h2c) served on ringio
 * connections with `serveNode`: driven by real `curl` and raw TCP clients on
 * 127.0.0.1. Keep-alive reuse, 100-continue, a 3 MB upload echoed
 * byte-exact, the socket's addresses, the three http timeouts, close(),
 * closeAllConnections(), socket.setTimeout's idle semantics, fds released.
 */
import { createHash } from 'node:crypto'
import { writeFileSync, rmSync, mkdtempSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createH2 } from 'node:http2'
import { createServer as createNet, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { serveNode, type NodeServing } from '../src/serve-node.js'
import { NodeSocket } from '../src/node-socket.js'
import { fdCount, pattern, sleep, until, within } from './helpers.js'
import { rawClient, run, tryConnect } from './node-servers.js'

const BACKEND = process.env['RINGIO_BACKEND']
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** Echoes the body back; GET answers with the socket's view of the addresses. */
function echoHandler(req: IncomingMessage, res: ServerResponse): void {
  if (req.method === 'GET') {
    const s = req.socket
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ remoteAddress: s.remoteAddress, remotePort: s.remotePort, remoteFamily: s.remoteFamily, localAddress: s.localAddress, localPort: s.localPort }))
    return
  }
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => res.end(Buffer.concat(chunks)))
}

async function served(server: Server | ReturnType<typeof createNet> | ReturnType<typeof createH2>): Promise<{ serving: NodeServing; url: string; port: number }> {
  const serving = await serveNode(server, { host: '127.0.0.1', port: 0 })
  await new Promise((r) => setImmediate(r)) // 'listening' is emitted on the next tick
  return { serving, port: serving.address.port, url: `http://127.0.0.1:${serving.address.port}` }
}

// The first server sets up the ring, its eventfd and the read pool: fds that stay. Count after that.
beforeAll(async () => {
  const { serving } = await served(createServer())
  await serving.close()
})

describe(`serveNode(http.Server) with curl (${BACKEND})`, () => {
  it('reuses one keep-alive connection for several requests; req.socket has the right addresses', async () => {
    const fds = fdCount()
    const server = createServer(echoHandler)
    let connections = 0
    server.on('connection', (s) => {
      connections++
      expect(s).toBeInstanceOf(NodeSocket)
    })
    let listening = false
    server.on('listening', () => (listening = true))
    const { serving, url, port } = await served(server)
    expect(listening).toBe(true)
    expect(server.listening).toBe(true)
    expect(server.address()).toEqual({ address: '127.0.0.1', family: 'IPv4', port })
    const r = await run('curl', ['-sv', '--http1.1', '-w', '\\n%{local_port}\\n', `${url}/a`, `${url}/b`, `${url}/c`])
    expect(r.code).toBe(0)
    expect(r.stderr.match(/Re-using existing connection/g)?.length).toBe(2)
    expect(connections).toBe(1)
    const lines = r.stdout.toString().trim().split('\n')
    expect(lines.length).toBe(6)
    const clientPort = Number(lines[1])
    for (const i of [0, 2, 4]) {
      expect(JSON.parse(lines[i]!)).toEqual({ remoteAddress: '127.0.0.1', remotePort: clientPort, remoteFamily: 'IPv4', localAddress: '127.0.0.1', localPort: port })
      expect(Number(lines[i + 1])).toBe(clientPort)
    }
    await within(serving.close(), 5000, 'server close')
    expect(server.listening).toBe(false)
    await until(() => fdCount() === fds, 2000, 'every fd released')
  })

  it('answers Expect: 100-continue and echoes a 3 MB upload byte-exact', async () => {
    const fds = fdCount()
    const server = createServer(echoHandler)
    let checked = 0
    server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      checked++
      res.writeContinue()
      echoHandler(req, res)
    })
    const { serving, url } = await served(server)
    const dir = mkdtempSync(join(tmpdir(), 'ringio-upload-'))
    try {
      const body = pattern(3 << 20, 77)
      writeFileSync(join(dir, 'body'), body)
      const r = await run('curl', ['-sv', '--http1.1', '-H', 'Expect: 100-continue', '--data-binary', `@${join(dir, 'body')}`, '-H', 'content-type: application/octet-stream', `${url}/up`])
      expect(r.code).toBe(0)
      expect(r.stderr).toMatch(/HTTP\/1.1 100 Continue/)
      expect(checked).toBe(1)
      expect(r.stdout.length).toBe(body.length)
      expect(sha(r.stdout)).toBe(sha(body))
    } finally {
      rmSync(dir, { recursive: true, force: true })
      await within(serving.close(), 5000, 'server close')
    }
    await until(() => fdCount() === fds, 2000, 'every fd released')
  })

  it('serves on a unix socket: address() is its path, remoteAddress undefined (as Node)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringio-unix-'))
    const path = join(dir, 'http.sock')
    try {
      const server = createServer((req, res) => res.end(`unix ${String(req.socket.remoteAddress)} ${JSON.stringify(req.socket.address())}`))
      const serving = await serveNode(server, { path })
      expect(server.address()).toBe(path)
      const r = await run('curl', ['-s', '--unix-socket', path, 'http://localhost/'])
      expect(r.code).toBe(0)
      expect(r.stdout.toString()).toBe('unix undefined {}')
      await within(serving.close(), 5000, 'server close')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('serves h2c (http2.createServer) to curl --http2-prior-knowledge', async () => {
    const fds = fdCount()
    const server = createH2((req, res) => res.end(`h2 ${req.httpVersion} ${req.socket.remoteAddress}`))
    const { serving, url } = await served(server)
    // One URL per curl: this curl (7.88) fails (exit 16) reusing a prior-knowledge h2 connection, against node's own listen() too.
    for (const path of ['/', '/again']) {
      const r = await run('curl', ['-s', '--http2-prior-knowledge', `${url}${path}`])
      expect(r.code).toBe(0)
      expect(r.stdout.toString()).toBe('h2 2.0 127.0.0.1')
    }
    await within(serving.close(), 5000, 'server close')
    await until(() => fdCount() === fds, 2000, 'every fd released')
  })
})

describe(`serveNode(http.Server) timeouts and closing (${BACKEND})`, () => {
  it('keepAliveTimeout closes an idle keep-alive connection (seen by the client)', async () => {
    const server = createServer(echoHandler)
    server.keepAliveTimeout = 300
    const { serving, port } = await served(server)
    const c = await rawClient(port)
    c.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    await until(() => c.received().includes('"localPort"'), 2000, 'the response')
    expect(c.received()).toMatch(/Connection: keep-alive/i)
    const answered = Date.now()
    await until(() => c.closedAt() !== null, 5000, 'the server to close the idle connection')
    // Node arms the socket timeout at keepAliveTimeout + 1 s (HTTP_SERVER_KEEP_ALIVE_TIMEOUT_BUFFER).
    const idle = c.closedAt()! - answered
    expect(idle).toBeGreaterThanOrEqual(1200)
    expect(idle).toBeLessThan(3000)
    await within(serving.close(), 5000, 'server close')
  })

  it('headersTimeout answers a half-sent request head with 408 and closes', async () => {
    const server = createServer({ headersTimeout: 300, requestTimeout: 600, connectionsCheckingInterval: 50 }, echoHandler)
    const { serving, port } = await served(server)
    const c = await rawClient(port)
    const t0 = Date.now()
    c.socket.write('GET / HTTP/1.1\r\nHost: x\r\n') // no blank line: the head never ends
    await until(() => c.closedAt() !== null, 5000, 'the close after the headers timeout')
    expect(c.received()).toMatch(/^HTTP\/1.1 408 Request Timeout/)
    expect(c.closedAt()! - t0).toBeGreaterThanOrEqual(250)
    expect(c.closedAt()! - t0).toBeLessThan(2000)
    await within(serving.close(), 5000, 'server close')
  })

  it('requestTimeout answers a request whose body never completes with 408 and closes', async () => {
    const server = createServer({ headersTimeout: 200, requestTimeout: 500, connectionsCheckingInterval: 50 }, echoHandler)
    const { serving, port } = await served(server)
    const c = await rawClient(port)
    const t0 = Date.now()
    c.socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789')
    await until(() => c.closedAt() !== null, 5000, 'the close after the request timeout')
    expect(c.received()).toMatch(/^HTTP\/1.1 408 Request Timeout/)
    expect(c.closedAt()! - t0).toBeGreaterThanOrEqual(450)
    expect(c.closedAt()! - t0).toBeLessThan(2500)
    await within(serving.close(), 5000, 'server close')
  })

  it('close() refuses new connects and closes idle ones; closeAllConnections() closes busy ones; every fd is released', async () => {
    const fds = fdCount()
    const pending: ServerResponse[] = []
    const server = createServer((req, res) => {
      if (req.url === '/hang') pending.push(res) // never answered
      else res.end('ok')
    })
    const { port } = await served(server)
    const idle = await rawClient(port)
    idle.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    await until(() => idle.received().endsWith('ok'), 2000, 'the idle client response')
    const busy = await rawClient(port)
    busy.socket.write('GET /hang HTTP/1.1\r\nHost: x\r\n\r\n')
    await until(() => pending.length === 1, 2000, 'the busy request')
    let connections = 0
    server.on('connection', () => connections++)
    let closeEvent = false
    server.close(() => (closeEvent = true))
    expect(server.listening).toBe(false)
    // ringio closes the listening fd when this turn of the loop submits (not inside close()):
    // a connect racing that is reset, never served; after it, refused.
    let refused = ''
    for (let i = 0; i < 50 && refused !== 'ECONNREFUSED'; i++) {
      refused = await tryConnect(port)
      expect(refused).not.toBe('connected')
    }
    expect(refused).toBe('ECONNREFUSED')
    expect(connections).toBe(0)
    await until(() => idle.closedAt() !== null, 2000, 'the idle connection closed by close()')
    await sleep(100)
    expect(busy.closedAt()).toBeNull()
    expect(closeEvent).toBe(false)
    server.closeAllConnections()
    await until(() => busy.closedAt() !== null, 2000, 'the busy connection closed by closeAllConnections()')
    await until(() => closeEvent, 2000, "the server's 'close'")
    await until(() => fdCount() === fds, 2000, 'every fd released')
  })

  it('socket.setTimeout: reset by reads and writes, emits timeout, callback form, 0 disables', async () => {
    const server = createNet()
    const sockets: Socket[] = []
    server.on('connection', (s: Socket) => sockets.push(s))
    const { serving, port } = await served(server)
    const c = await rawClient(port)
    await until(() => sockets.length === 1, 2000, 'the connection')
    const s = sockets[0]!
    expect(s).toBeInstanceOf(NodeSocket)
    s.on('data', () => {})
    let timeouts = 0
    let viaCallback = 0
    s.on('timeout', () => timeouts++)
    s.setTimeout(250, () => viaCallback++)
    expect(s.timeout).toBe(250)
    // Reads keep it alive: a byte every 100 ms for 600 ms.
    for (let i = 0; i < 6; i++) {
      c.socket.write('x')
      await sleep(100)
    }
    expect(timeouts).toBe(0)
    // So do writes.
    for (let i = 0; i < 6; i++) {
      s.write('y')
      await sleep(100)
    }
    expect(timeouts).toBe(0)
    await until(() => timeouts === 1, 2000, 'the idle timeout')
    expect(viaCallback).toBe(1) // a one-time listener
    expect(s.destroyed).toBe(false) // 'timeout' only tells; closing is the listener's call
    s.setTimeout(150)
    await until(() => timeouts === 2, 2000, 'the second timeout')
    s.setTimeout(0)
    await sleep(400)
    expect(timeouts).toBe(2)
    c.socket.destroy()
    await within(serving.close(), 5000, 'server close')
  })
})
