/**
 * The worker side of `serveWorkers()`: loads the handler module, listens
 * with `SO_REUSEPORT` on the shared address through this thread's own ring,
 * counts connections and bytes into its slot of the shared counters, and
 * shuts down gracefully when the main thread asks.
 *
 * @packageDocumentation
 */
import { parentPort, threadId, workerData } from 'node:worker_threads'
import { isObservable, Subject, type Observable, type Subscription } from 'rxjs'
import { closeProactor, IoError } from '@ringio/core/transport'
import type { Connection } from './connection.js'
import { ENOPROTOOPT } from './constants.js'
import { listen } from './listen.js'
import { configureReadPool } from './read-pool.js'
import { COUNTERS, sendError, type MainMessage, type WorkerBoot, type WorkerMessage } from './serve-worker-protocol.js'

/** What a handler module's default export gets besides the connections. */
export interface WorkerInfo {
  /** The worker's index, 0 … workers-1 (a replacement keeps the index). */
  readonly index: number
  /** The worker thread's id. */
  readonly threadId: number
  /** `ServeWorkersOptions.data`, structured-cloned. */
  readonly data: unknown
  /** Aborted when this worker starts shutting down (it then accepts no more; the connections Observable completes). */
  readonly signal: AbortSignal
}

/**
 * The handler module's default export: called once per worker with that
 * worker's connections. Subscribe to them (or return an Observable, which is
 * subscribed). Connections nobody takes are closed.
 */
export type WorkerHandler = (connections$: Observable<Connection>, info: WorkerInfo) => Subscription | Observable<unknown> | void

/**
 * @internal The body of a `serveWorkers()` worker thread (the main thread
 * starts it by importing this module in the worker). Not for direct use.
 */
export async function runServeWorker(): Promise<void> {
  const boot = workerData as WorkerBoot | null
  const port = parentPort
  if (port === null || boot?.ringioServeWorker !== true) throw new Error('runServeWorker runs only inside a serveWorkers() worker')
  const post = (m: WorkerMessage): void => port.postMessage(m)
  const counters = new Float64Array(boot.counters, boot.index * COUNTERS.SIZE * 8, COUNTERS.SIZE)
  counters[COUNTERS.open] = 0
  counters[COUNTERS.listenFd] = -1
  const open = new Set<Connection>()
  const connections = new Subject<Connection>()
  const ac = new AbortController()
  let listening = false
  let listener: Subscription | undefined
  let handled: Subscription | undefined
  let stopping = false

  const finish = (): void => {
    handled?.unsubscribe()
    closeProactor() // the ring, its pools and its fds
    port.close() // nothing is left to keep the thread alive: it exits, which the main thread waits for
  }
  const stop = (drainTimeout: number): void => {
    if (stopping) return
    stopping = true
    counters[COUNTERS.listenFd] = -1 // closed by this thread from now on
    ac.abort() // the listener closes; `connections` completes
    if (open.size === 0) return finish()
    const timer = setTimeout(() => {
      for (const c of open) c.destroy()
    }, drainTimeout)
    void Promise.all([...open].map((c) => c.closed)).then(() => {
      clearTimeout(timer)
      finish()
    })
  }
  port.on('message', (m: MainMessage) => {
    if (m.type === 'stop') stop(m.drainTimeout)
  })
  // A crash (an exception in the handler) ends the thread, not the process: the
  // listener and the sockets are process-wide, so close them here. The ring
  // goes first, so the listener and the connections take their synchronous
  // close paths (core's own exit hook, registered later, then finds it closed).
  // A terminated worker runs no hook: the main thread shuts its listener down.
  process.once('exit', () => {
    counters[COUNTERS.listenFd] = -1
    closeProactor()
    listener?.unsubscribe()
    for (const c of open) c.destroy()
  })

  let handler: unknown
  try {
    const mod = (await import(boot.handler)) as { default?: unknown }
    handler = mod.default
    if (typeof handler !== 'function') throw new TypeError(`${boot.handler} must export a default function (connections$, info)`)
    if (boot.readPool !== undefined) configureReadPool(boot.readPool)
  } catch (err) {
    post({ type: 'failed', error: sendError(err) })
    port.close()
    return
  }
  if (stopping) return // asked to stop while the module loaded
  const result = (handler as WorkerHandler)(connections.asObservable(), { index: boot.index, threadId, data: boot.data, signal: ac.signal })
  if (isObservable(result)) handled = result.subscribe()
  else if (result !== undefined && typeof (result as Subscription).unsubscribe === 'function') handled = result as Subscription
  if (stopping) return
  listener = listen({
    host: boot.host,
    port: boot.port,
    backlog: boot.backlog,
    noDelay: boot.noDelay,
    reusePort: true,
    signal: ac.signal,
    onListening: (address, fd) => {
      counters[COUNTERS.listenFd] = fd
      listening = true
      post({ type: 'listening', address })
    },
  }).subscribe({
    next: (c) => {
      counters[COUNTERS.accepted]! += 1
      counters[COUNTERS.open]! += 1
      open.add(c)
      void c.closed.then(() => {
        open.delete(c)
        counters[COUNTERS.open]! -= 1
        counters[COUNTERS.bytesIn]! += c.bytesRead
        counters[COUNTERS.bytesOut]! += c.bytesWritten
      })
      if (connections.observed) connections.next(c)
      else c.destroy()
    },
    error: (err: unknown) => {
      counters[COUNTERS.listenFd] = -1 // the listener closed it
      if (listening) throw err // a listener that dies after start: this worker crashed (it is replaced)
      post({ type: 'failed', error: sendError(reusePortHint(err)) })
      finish()
    },
    complete: () => connections.complete(),
  })
}

/** SO_REUSEPORT refused (a kernel without it, or a sandbox): say so, not just the errno. */
function reusePortHint(err: unknown): unknown {
  if (IoError.is(err) && err.op === 'setsockopt' && err.errno === ENOPROTOOPT) {
    return new IoError(err.errno, err.op, err.handle, {
      message: 'serveWorkers needs SO_REUSEPORT, which this system refuses (ENOPROTOOPT): run one listener with listen() instead',
      cause: err,
    })
  }
  return err
}
