/**
 * A TCP proxy composed from Observables: listen → connect upstream per
 * connection → both directions piped with backpressure → closed together.
 *
 *   node examples/dist/reactive-proxy.js --listen 7002 --target 127.0.0.1:7000
 */
import { backend } from '@ringio/core'
import { connect, listen, type Connection } from '@ringio/net'
import { catchError, concatMap, EMPTY, finalize, from, merge, mergeMap } from 'rxjs'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { listen: { type: 'string', default: '7002' }, target: { type: 'string', default: '127.0.0.1:7000' } } })
const [host, port] = values.target.split(':') as [string, string]

/** Copies a → b; each chunk is written before the next is taken (backpressure), then half-closes b. */
const pipe = (a: Connection, b: Connection) =>
  a.data$.pipe(
    concatMap((chunk) => from(b.write(chunk))),
    finalize(() => void b.end()),
  )

listen({ host: '127.0.0.1', port: Number(values.listen), onListening: (a) => console.log(`proxy on ${a.port} -> ${values.target} (${backend()})`) })
  .pipe(
    mergeMap((client) =>
      from(connect({ host, port: Number(port), timeout: 5000 })).pipe(
        mergeMap((upstream) => merge(pipe(client, upstream), pipe(upstream, client)).pipe(finalize(() => upstream.close()))),
        // One failed connection (refused upstream, reset) must not stop the proxy.
        catchError((err: Error) => (console.error(`connection dropped: ${err.message}`), EMPTY)),
        finalize(() => client.close()),
      ),
    ),
  )
  .subscribe({ error: (err) => console.error('proxy stopped:', err) })

for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(0))
