/**
 * `serveWorkers()`: one connection handler on N worker threads, each with its
 * own ring (or poll backend), read pool and `SO_REUSEPORT` listener on the
 * same address, so the kernel spreads connections across threads and nothing
 * is shared that would need a lock — the pattern of the io_uring runtimes
 * that scale (a ring per thread). The workers' side is `serve-worker.ts`.
 *
 * @packageDocumentation
 */
import { availableParallelism } from 'node:os'
import { isAbsolute } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import { Subject, type Observable } from 'rxjs'
import { sockets } from '@ringio/core/transport'
import { SHUT_RDWR } from './constants.js'
import type { ReadPoolOptions } from './read-pool.js'
import type { SocketAddress } from './sockaddr.js'
import { COUNTERS, receiveError, type MainMessage, type WorkerBoot, type WorkerMessage } from './serve-worker-protocol.js'
import type { WorkerHandler } from './serve-worker.js'
/** Options of {@link serveWorkers}. */
export interface ServeWorkersOptions {
  /** TCP port; 0 lets the first worker pick a free one, which the others then share. */
  port: number
  /** Address to bind (default `'0.0.0.0'`); `'::'` is dual-stack, as with `listen()`. */
  host?: string
  /** Worker threads (default: `os.availableParallelism()`). */
  workers?: number
  /** Listen backlog of each worker's listener. Default 511. */
  backlog?: number
  /** Disable Nagle on accepted sockets. Default true. */
  noDelay?: boolean
  /** Each worker's read pool (`configureReadPool` in the worker, before its first read). */
  readPool?: ReadPoolOptions
  /** Passed (structured-cloned) to the handler as `info.data`. */
  data?: unknown
  /** Aborting starts the graceful shutdown of {@link WorkerServer.close}. */
  signal?: AbortSignal
  /**
   * Milliseconds open connections get to finish at shutdown before they are
   * destroyed. Default 10 000. A worker still running 2 s after that has a
   * stuck thread (it never saw the request): its listener is shut down from
   * the main thread and `events$` reports it (`stuck`); the thread, its ring
   * and its connections end with the process (terminating it could abort
   * the process, see `stopWorker`).
   */
  drainTimeout?: number
  /**
   * SIGTERM and SIGINT start the graceful shutdown; once it is done the
   * signal is raised again with its default action (the process ends as
   * the signal says). Default true; false leaves signals to you.
   */
  handleSignals?: boolean
}

/** One worker's counters, read from the main thread at any time (no message round trip). */
export interface WorkerCounters {
  /** The worker's index, 0 … workers-1 (a replacement keeps its index and counters). */
  readonly index: number
  /** Connections accepted. */
  readonly connections: number
  /** Connections open now. */
  readonly open: number
  /** Bytes received on closed connections. */
  readonly bytesIn: number
  /** Bytes sent on closed connections. */
  readonly bytesOut: number
  /** Times this worker was replaced after a crash. */
  readonly restarts: number
}

/** Worker `index` threw, or exited unexpectedly, with `error`. */
export interface WorkerCrashed {
  /** The event's kind. */
  readonly type: 'crashed'
  /** The worker's slot. */
  readonly index: number
  /** What it threw, or why it exited. */
  readonly error: Error
}

/** A new worker took slot `index` and listens. */
export interface WorkerReplaced {
  /** The event's kind. */
  readonly type: 'replaced'
  /** The worker's slot. */
  readonly index: number
}

/**
 * At shutdown, worker `index` did not exit in time: its thread is stuck (a
 * handler that never returns). Its listener was shut down; the thread and
 * what it holds (its ring, its connections) end with the process.
 */
export interface WorkerStuck {
  /** The event's kind. */
  readonly type: 'stuck'
  /** The worker's slot. */
  readonly index: number
}

/** What happens to the workers, as {@link WorkerServer.events$} tells it. */
export type WorkerEvent = WorkerCrashed | WorkerReplaced | WorkerStuck

/** A running pool of workers; see {@link serveWorkers}. */
export interface WorkerServer {
  /** The address every worker listens on (the real port when `port` was 0). */
  readonly address: SocketAddress
  /** Worker threads. */
  readonly size: number
  /** Each worker's counters. */
  counters(): WorkerCounters[]
  /** Crashes and replacements. Completes after shutdown. */
  readonly events$: Observable<WorkerEvent>
  /**
   * Graceful shutdown: every worker stops accepting, gives its open
   * connections `drainTimeout` ms to finish, destroys the rest, releases its
   * ring, pool and fds, and exits. Resolves when all have exited; idempotent.
   */
  close(): Promise<void>
}

/** This module's own file, so a worker loads the same build of `@ringio/net` (ESM or CJS: tsup shims `import.meta.url`) as the caller. */
const SELF: string = import.meta.url
/** A worker that dies this soon after it started is crash-looping: its replacement waits, longer each time. */
const QUICK_DEATH_MS = 1000
/** After the drain timeout, how long a worker gets to release everything and exit before it is terminated. */
const EXIT_GRACE_MS = 2000
/** How long a worker may take to load its handler and listen. */
const START_TIMEOUT_MS = 30_000

/**
 * Serves connections on `workers` threads: each loads `handler` (a module
 * whose default export is a {@link WorkerHandler}) and listens on
 * `host:port` with `SO_REUSEPORT`, so the kernel spreads new connections
 * over them. Each thread has its own ring and read pool; nothing is shared
 * but the port and a few counters.
 *
 * The handler is a module, not a function: a closure cannot cross to another
 * thread (it would lose its scope), so each worker imports the module itself.
 *
 * ## Example
 * ```ts
 * // echo-worker.ts — the handler module
 * import type { Observable } from 'rxjs'
 * import type { Connection } from '@ringio/net'
 * export default (connections$: Observable<Connection>) =>
 *   connections$.subscribe((c) => c.data$.subscribe({ next: (b) => void c.write(b), complete: () => void c.end() }))
 *
 * // main.ts
 * import { serveWorkers } from '@ringio/net'
 * const server = await serveWorkers({ port: 7000, workers: 4 }, new URL('./echo-worker.js', import.meta.url))
 * console.log(`listening on ${server.address.port} with ${server.size} workers`)
 * // SIGTERM or SIGINT: stop accepting, let connections finish (drainTimeout), exit.
 * ```
 *
 * Lifecycle: resolves once every worker listens. Rejects with the first
 * failure (a bind error such as `EADDRINUSE`, a handler module that does not
 * load, `SO_REUSEPORT` refused), after stopping the workers already started.
 * A worker that crashes later (an exception in the handler) is reported on
 * `events$` and replaced in its slot; one that keeps dying at start is
 * replaced after a growing delay (up to 5 s). Shutdown is graceful: on
 * `close()`, on `signal`, and on SIGTERM/SIGINT unless `handleSignals` is
 * false. After it no thread, ring or fd of the pool is left.
 *
 * @param opts where to listen, how many workers, shutdown behaviour
 * @param handler the handler module: a `URL`, a `file:` URL string or an absolute path
 * @throws TypeError / RangeError at the call site for bad options
 */
export async function serveWorkers(opts: ServeWorkersOptions, handler: URL | string): Promise<WorkerServer> {
  const url = handlerUrl(handler)
  const size = opts.workers ?? availableParallelism()
  if (!Number.isInteger(size) || size < 1 || size > 1024) throw new RangeError(`workers must be an integer in 1..1024, got ${String(opts.workers)}`)
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new RangeError(`port must be an integer in 0..65535, got ${String(opts.port)}`)
  const drainTimeout = opts.drainTimeout ?? 10_000
  if (typeof drainTimeout !== 'number' || !(drainTimeout >= 0)) throw new RangeError(`drainTimeout must be a number >= 0, got ${String(drainTimeout)}`)
  const counters = new SharedArrayBuffer(size * COUNTERS.SIZE * 8)
  const view = new Float64Array(counters)
  const restarts = new Array<number>(size).fill(0)
  const workers = new Array<Worker | null>(size).fill(null)
  const events = new Subject<WorkerEvent>()
  let port = opts.port
  let stopping: Promise<void> | null = null

  const boot = (index: number): WorkerBoot => ({
    ringioServeWorker: true,
    handler: url,
    index,
    counters,
    host: opts.host ?? '0.0.0.0',
    port,
    backlog: opts.backlog ?? 511,
    noDelay: opts.noDelay !== false,
    readPool: opts.readPool,
    data: opts.data,
  })

  /** Starts worker `index`; resolves with its address once it listens, rejects with why it could not. */
  const start = (index: number, failures = 0): Promise<SocketAddress> =>
    new Promise<SocketAddress>((resolve, reject) => {
      const born = Date.now()
      view[index * COUNTERS.SIZE + COUNTERS.listenFd] = -1
      const w = new Worker(`import(${JSON.stringify(SELF)}).then((m) => (m.runServeWorker ?? m.default.runServeWorker)())`, { eval: true, workerData: boot(index) })
      workers[index] = w
      let listening = false
      let failure: Error | null = null
      const late = setTimeout(() => {
        // Not listening yet, so not inside a completion: terminating it is safe here.
        failure ??= new Error(`serveWorkers: worker ${index} did not listen within ${START_TIMEOUT_MS / 1000} s`)
        void w.terminate()
      }, START_TIMEOUT_MS)
      w.on('message', (m: WorkerMessage) => {
        if (m.type === 'listening') {
          clearTimeout(late)
          listening = true
          resolve(m.address)
        } else if (m.type === 'failed') failure = receiveError(m.error)
      })
      w.on('error', (err) => {
        failure ??= err
      })
      w.on('exit', (code) => {
        clearTimeout(late)
        if (workers[index] === w) workers[index] = null
        orphanedListener(view, index)
        if (!listening) return reject(failure ?? new Error(`serveWorkers: worker ${index} exited (code ${code}) before listening`))
        if (stopping !== null) return
        events.next({ type: 'crashed', index, error: failure ?? new Error(`serveWorkers: worker ${index} exited (code ${code})`) })
        replace(index, Date.now() - born < QUICK_DEATH_MS ? failures + 1 : 0)
      })
    })

  /** Puts a new worker in slot `index`, after a delay growing with the failures in a row. */
  const replace = (index: number, failures: number): void => {
    const delay = failures === 0 ? 0 : Math.min(5000, 100 * 2 ** (failures - 1))
    setTimeout(() => {
      if (stopping !== null) return
      view[index * COUNTERS.SIZE + COUNTERS.open] = 0 // its connections went with it
      start(index, failures).then(
        () => {
          if (stopping !== null) return
          restarts[index]! += 1
          events.next({ type: 'replaced', index })
        },
        (err: unknown) => {
          if (stopping !== null) return
          events.next({ type: 'crashed', index, error: err instanceof Error ? err : new Error(String(err)) })
          replace(index, failures + 1)
        },
      )
    }, delay).unref()
  }

  const onSignal = (sig: NodeJS.Signals): void => {
    void close().then(() => process.kill(process.pid, sig)) // the signal's own action, now that the workers are done
  }
  const onAbort = (): void => void close()
  const close = (): Promise<void> =>
    (stopping ??= (async () => {
      opts.signal?.removeEventListener('abort', onAbort)
      process.off('SIGTERM', onSignal)
      process.off('SIGINT', onSignal)
      await Promise.all(
        workers.map((w, index) =>
          w === null
            ? undefined
            : stopWorker(w, drainTimeout, () => {
                orphanedListener(view, index)
                events.next({ type: 'stuck', index })
              }),
        ),
      )
      events.complete()
    })())

  let address: SocketAddress
  try {
    // The first worker picks the port when it is 0; the others then share it.
    address = await start(0)
    port = address.port
    await Promise.all(Array.from({ length: size - 1 }, (_, i) => start(i + 1)))
  } catch (err) {
    await close()
    throw err
  }
  if (opts.handleSignals !== false) {
    process.on('SIGTERM', onSignal)
    process.on('SIGINT', onSignal)
  }
  if (opts.signal?.aborted === true) void close()
  else opts.signal?.addEventListener('abort', onAbort, { once: true })
  return {
    address,
    size,
    events$: events.asObservable(),
    close,
    counters: () =>
      Array.from({ length: size }, (_, index) => {
        const at = index * COUNTERS.SIZE
        return {
          index,
          connections: view[at + COUNTERS.accepted]!,
          open: view[at + COUNTERS.open]!,
          bytesIn: view[at + COUNTERS.bytesIn]!,
          bytesOut: view[at + COUNTERS.bytesOut]!,
          restarts: restarts[index]!,
        }
      }),
  }
}

/**
 * A worker that ended without closing its listener (terminated: no exit hook
 * ran in it) leaves it in the SO_REUSEPORT group, where the kernel would go on
 * queueing connections nobody accepts. Shut it down from here: `shutdown(2)`
 * takes it out of LISTEN even while its dead ring still holds the file.
 */
function orphanedListener(view: Float64Array, index: number): void {
  const at = index * COUNTERS.SIZE + COUNTERS.listenFd
  const fd = view[at]!
  if (fd < 0) return
  view[at] = -1
  try {
    sockets.shutdownSync(fd, SHUT_RDWR)
  } catch {
    // already not listening
  }
  sockets.closeSync(fd)
}

/**
 * Asks `w` to stop and resolves when it exited. A worker still running
 * `EXIT_GRACE_MS` after the drain timeout has a stuck thread: it is NOT
 * terminated — terminating a thread that is inside a native callback (an
 * io_uring completion is delivered from koffi's poll callback) aborts the
 * whole process (measured: koffi 3.3.4, Node 20, "napi_throw" fatal error).
 * Its listener is shut down from here instead (`onStuck`), and the thread is
 * unref'd: it ends with the process.
 */
function stopWorker(w: Worker, drainTimeout: number, onStuck: () => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      onStuck()
      w.unref()
      resolve()
    }, drainTimeout + EXIT_GRACE_MS)
    w.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    w.postMessage({ type: 'stop', drainTimeout } satisfies MainMessage)
  })
}

function handlerUrl(handler: URL | string): string {
  if (handler instanceof URL) return handler.href
  if (typeof handler === 'string' && handler.startsWith('file:')) return handler
  if (typeof handler === 'string' && isAbsolute(handler)) return pathToFileURL(handler).href
  throw new TypeError(`handler must be a URL, a file: URL string or an absolute path, got ${String(handler)}`)
}
