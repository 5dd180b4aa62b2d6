/**
 * The seed echo server: every byte received is written back, in order.
 *
 *   node examples/dist/echo-server.js [--port 7000] [--host 0.0.0.0]
 */
import { backend } from '@ringio/core'
import { listen } from '@ringio/net'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { port: { type: 'string', default: '7000' }, host: { type: 'string', default: '0.0.0.0' } } })
const ac = new AbortController()

listen({
  host: values.host,
  port: Number(values.port),
  signal: ac.signal,
  onListening: (a) => console.log(`listening on ${a.address}:${a.port} (${backend()})`),
  // Out of fds (EMFILE) the listener pauses and retries by itself: just say so.
  onAcceptError: (err) => console.error(err.message),
}).subscribe({
  next: (conn) => conn.data$.subscribe({ next: (chunk) => conn.write(chunk), complete: () => conn.end(), error: () => conn.close() }),
  error: (err: Error) => {
    console.error(`listener failed: ${err.message}`)
    process.exitCode = 1
  },
})

for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { ac.abort(); process.exit(0) })
