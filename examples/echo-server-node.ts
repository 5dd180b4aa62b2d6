/**
 * The same echo server on Node's own `net`, for side-by-side comparisons (the demo runs both).
 *
 *   node examples/dist/echo-server-node.js [--port 7000] [--cluster N]
 *
 * With `--cluster N` it runs under Node's `cluster` with N worker processes
 * (Node's default scheduling on Linux: the primary accepts and hands each
 * connection to a worker, round-robin) — the anchor of the `--workers` bench.
 */
import cluster from 'node:cluster'
import net from 'node:net'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: { port: { type: 'string', default: '7000' }, host: { type: 'string', default: '0.0.0.0' }, cluster: { type: 'string' } },
})
const workers = values.cluster === undefined ? 0 : Number(values.cluster)

if (workers > 0 && cluster.isPrimary) {
  let listening = 0
  cluster.on('listening', (_w, a) => {
    if (++listening === workers) console.log(`listening on ${a.address ?? values.host}:${a.port} (node:net, cluster of ${workers})`)
  })
  for (let i = 0; i < workers; i++) cluster.fork()
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      for (const w of Object.values(cluster.workers ?? {})) w?.kill()
      process.exit(0)
    })
} else {
  const server = net.createServer({ noDelay: true }, (s) => {
    s.on('data', (d) => s.write(d))
    s.on('end', () => s.end())
    s.on('error', () => s.destroy())
  })
  server.listen(Number(values.port), values.host, () => {
    const a = server.address() as net.AddressInfo
    if (workers === 0) console.log(`listening on ${a.address}:${a.port} (node:net)`)
  })
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(0))
}
