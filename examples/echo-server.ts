/**
 * The seed echo server: every byte received is written back, in order.
 *
 *   node examples/dist/echo-server.js [--port 7000] [--host 0.0.0.0] [--workers N]
 *
 * With `--workers N` the handler (`echo-worker.ts`) runs on N worker threads,
 * each with its own ring and an SO_REUSEPORT listener on the port
 * (`serveWorkers`); SIGINT/SIGTERM let open connections finish, then exit.
 */
import { backend } from '@ringio/core'
import { listen, serveWorkers } from '@ringio/net'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: { port: { type: 'string', default: '7000' }, host: { type: 'string', default: '0.0.0.0' }, workers: { type: 'string' } },
})

if (values.workers !== undefined) {
  const server = await serveWorkers(
    { host: values.host, port: Number(values.port), workers: Number(values.workers), drainTimeout: 2000 },
    new URL('./echo-worker.js', import.meta.url),
  ).catch((err: Error) => {
    console.error(`serveWorkers failed: ${err.message}`)
    process.exit(1)
  })
  console.log(`listening on ${server.address.address}:${server.address.port} (${server.size} workers)`)
  server.events$.subscribe((e) => console.error(e.type === 'crashed' ? `worker ${e.index} crashed: ${e.error.message}` : `worker ${e.index} replaced`))
} else {
  single()
}

/** One listener on this thread. */
function single(): void {
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
}
