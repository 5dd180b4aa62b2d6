/**
 * The libxev case: for every line received, three writes are issued in one
 * callback without awaiting, then the line is echoed. ringio's write queue
 * delivers all four, whole and in call order.
 *
 *   node examples/dist/ordered-writes.js [--port 7001]
 *   printf 'hello\n' | nc -q1 127.0.0.1 7001   # first second third hello
 */
import { backend } from '@ringio/core'
import { listen } from '@ringio/net'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { port: { type: 'string', default: '7001' } } })
const ac = new AbortController()

listen({
  host: '127.0.0.1',
  port: Number(values.port),
  signal: ac.signal,
  onListening: (a) => console.log(`listening on ${a.address}:${a.port} (${backend()})`),
}).subscribe((conn) => {
  let pending = ''
  conn.data$.subscribe({
    next: (chunk) => {
      pending += chunk.toString('utf8')
      for (let nl = pending.indexOf('\n'); nl !== -1; nl = pending.indexOf('\n')) {
        const line = pending.slice(0, nl + 1)
        pending = pending.slice(nl + 1)
        conn.write('first\n') // no await: these four reach the peer in this order
        conn.write('second\n')
        conn.write('third\n')
        conn.write(line)
      }
    },
    complete: () => conn.end(),
    error: () => conn.close(),
  })
})

for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { ac.abort(); process.exit(0) })
