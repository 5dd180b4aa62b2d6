/**
 * The echo handler as a module, for `echo-server.js --workers N`: each
 * worker thread of `serveWorkers()` imports it and hands it its own
 * connections (a function cannot cross threads; a module can be loaded again).
 */
import type { Connection } from '@ringio/net'
import type { Observable } from 'rxjs'

export default (connections$: Observable<Connection>) =>
  connections$.subscribe((conn) =>
    conn.data$.subscribe({ next: (chunk) => void conn.write(chunk), complete: () => void conn.end(), error: () => conn.close() }),
  )
