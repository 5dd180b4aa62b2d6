/**
 * The same echo server on Node's own `net`, for side-by-side comparisons (the demo runs both).
 *
 *   node examples/dist/echo-server-node.js [--port 7000]
 */
import net from 'node:net'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { port: { type: 'string', default: '7000' }, host: { type: 'string', default: '0.0.0.0' } } })
const server = net.createServer({ noDelay: true }, (s) => {
  s.on('data', (d) => s.write(d))
  s.on('end', () => s.end())
  s.on('error', () => s.destroy())
})
server.listen(Number(values.port), values.host, () => {
  const a = server.address() as net.AddressInfo
  console.log(`listening on ${a.address}:${a.port} (node:net)`)
})
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(0))
