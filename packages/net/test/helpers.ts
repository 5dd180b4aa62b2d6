import { firstValueFrom, type Observable } from 'rxjs'
import { readdirSync } from 'node:fs'
import { listen, type Connection, type ListenOptions } from '@ringio/net'

/** Starts a listener on 127.0.0.1:0 and resolves with its port and the subscription. */
export async function serve(onConn: (c: Connection) => void, opts: Partial<ListenOptions> = {}) {
  let port = 0
  const sub = listen({ host: '127.0.0.1', port: 0, ...opts, onListening: (a) => (port = a.port) }).subscribe({ next: onConn })
  if (port === 0) throw new Error('not listening')
  return { port, stop: () => sub.unsubscribe() }
}

/** Collects every chunk of a byte stream until it completes. */
export async function collect(data$: Observable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = []
  await new Promise<void>((resolve, reject) => data$.subscribe({ next: (b) => chunks.push(b), complete: resolve, error: reject }))
  return Buffer.concat(chunks)
}

/** Number of open fds of this process. */
export function fdCount(): number {
  return readdirSync('/proc/self/fd').length
}

export { firstValueFrom }
