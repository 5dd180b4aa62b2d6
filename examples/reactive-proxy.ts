/**
 * A TCP proxy composed from Observables: listen → connect upstream per
 * connection → both directions piped with `writeTo` → closed together.
 *
 *   node examples/dist/reactive-proxy.js --listen 7002 --target 127.0.0.1:7000
 *
 * Backpressure is built in: `writeTo` writes each chunk inside its source's
 * delivery, so when the destination's queue reaches its high-water mark the
 * source's kernel receive pauses until it drains. A fast producer and a slow
 * consumer keep the proxy's memory at about two high-water marks per
 * connection, whatever the speeds. And it is zero-copy: piped straight from
 * `data$`, the received pool buffers themselves are sent.
 *
 * A proxy moves bulk streams: its read pool keeps the default 64 KiB
 * buffers (as Node reads 64 KiB at a time), a quarter of the receives 16 KiB
 * buffers need. The pool's ring grows with demand, so an idle proxy keeps
 * few of them resident. `--read-buffer 16384` shows the smaller size.
 */
import { backend } from '@ringio/core'
import { configureReadPool, connect, listen, writeTo } from '@ringio/net'
import { catchError, EMPTY, finalize, from, merge, mergeMap } from 'rxjs'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: { listen: { type: 'string', default: '7002' }, target: { type: 'string', default: '127.0.0.1:7000' }, 'read-buffer': { type: 'string', default: '65536' } },
})
// Before the first connection: the shared pool is created on first use.
configureReadPool({ size: Number(values['read-buffer']) })
const [host, port] = values.target.split(':') as [string, string]

listen({
  host: '127.0.0.1',
  port: Number(values.listen),
  onListening: (a) => console.log(`proxy on ${a.port} -> ${values.target} (${backend()})`),
  // Out of fds: the listener waits and retries by itself.
  onAcceptError: (err) => console.error(err.message),
})
  .pipe(
    mergeMap((client) =>
      from(connect({ host, port: Number(port), timeout: 5000 })).pipe(
        // Each direction half-closes its destination at its source's EOF.
        mergeMap((upstream) => merge(client.data$.pipe(writeTo(upstream)), upstream.data$.pipe(writeTo(client))).pipe(finalize(() => upstream.close()))),
        // One failed connection (refused upstream, reset) must not stop the proxy.
        catchError((err: Error) => (console.error(`connection dropped: ${err.message}`), EMPTY)),
        finalize(() => client.close()),
      ),
    ),
  )
  .subscribe({ error: (err) => console.error('proxy stopped:', err) })

for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(0))
