/**
 * Node's own http server on ringio connections: `http.createServer` as usual,
 * served by `serveNode` instead of `server.listen`. Prints its URL, serves
 * until SIGINT/SIGTERM, then closes gracefully: no new connections, idle
 * keep-alive connections closed at once, requests in flight finished.
 *
 *   node examples/dist/http-server.js [--port 8080] [--host 127.0.0.1]
 *   curl http://127.0.0.1:8080/
 */
import { createServer } from 'node:http'
import { parseArgs } from 'node:util'
import { backend } from '@ringio/core'
import { serveNode } from '@ringio/net'

const { values } = parseArgs({ options: { port: { type: 'string', default: '8080' }, host: { type: 'string', default: '127.0.0.1' } } })

const server = createServer({ keepAliveTimeout: 5000, headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
  const s = req.socket
  res.setHeader('content-type', 'text/plain; charset=utf-8')
  res.end(`hello from node:http on ringio (${backend()})\n${req.method} ${req.url} from ${s.remoteAddress}:${s.remotePort} to port ${s.localPort}\n`)
})

const serving = await serveNode(server, { host: values.host, port: Number(values.port) })
console.log(`http://${serving.address.address}:${serving.address.port}/ (node:http on ringio, ${backend()} backend)`)

let stopping = false
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) process.exit(1) // a second signal: do not wait
    stopping = true
    console.log(`${sig}: closing (in-flight requests finish; ${sig} again to quit now)`)
    // Busy connections get a few seconds to finish, then are cut.
    const cut = setTimeout(() => server.closeAllConnections(), 5000)
    cut.unref()
    void serving.close().then(() => console.log('closed'))
  })
}
