/**
 * What the main thread and a `serveWorkers()` worker tell each other: the
 * boot data, the messages, and the layout of the shared counters.
 *
 * @packageDocumentation
 */
import { IoError } from '@ringio/core/transport'
import type { ReadPoolOptions } from './read-pool.js'
import type { SocketAddress } from './sockaddr.js'

/**
 * Counters per worker in one SharedArrayBuffer of Float64s, each slot written
 * by its own worker only (one writer: no lock, no Atomics) and read by the
 * main thread: accepted, open, bytes in, bytes out, and the listening
 * socket's fd while the worker listens (-1 otherwise), so the main thread can
 * shut a listener down whose worker died without closing it (terminated).
 */
export const COUNTERS = { accepted: 0, open: 1, bytesIn: 2, bytesOut: 3, listenFd: 4, SIZE: 5 } as const

/** The `workerData` of a worker. */
export interface WorkerBoot {
  /** The marker that tells `runServeWorker` it runs under `serveWorkers`. */
  readonly ringioServeWorker: true
  /** The handler module's URL. */
  readonly handler: string
  /** The worker's index. */
  readonly index: number
  /** The counters of every worker. */
  readonly counters: SharedArrayBuffer
  /** Where to listen (the port is the real one for every worker but a first one on port 0). */
  readonly host: string
  /** The port. */
  readonly port: number
  /** Listen backlog. */
  readonly backlog: number
  /** Nagle off. */
  readonly noDelay: boolean
  /** The worker's read pool. */
  readonly readPool: ReadPoolOptions | undefined
  /** For the handler. */
  readonly data: unknown
}

/** An error as it crosses threads: Node 20's structured clone keeps an Error's message and stack, not an IoError's fields. */
export interface SentError {
  /** The message. */
  readonly message: string
  /** The errno of an IoError. */
  readonly errno?: number
  /** The op of an IoError. */
  readonly op?: string
  /** The handle of an IoError. */
  readonly handle?: number | string
  /** The code of an IoError. */
  readonly code?: string
}

/** Worker → main. */
export type WorkerMessage =
  | { readonly type: 'listening'; readonly address: SocketAddress }
  | { readonly type: 'failed'; readonly error: SentError }

/** Main → worker. */
export type MainMessage = { readonly type: 'stop'; readonly drainTimeout: number }

/** `err` as it can cross to the other thread. */
export function sendError(err: unknown): SentError {
  if (IoError.is(err)) return { message: err.message, errno: err.errno, op: err.op, handle: err.handle, code: err.code }
  return { message: err instanceof Error ? err.message : String(err) }
}

/** The error a {@link SentError} stands for: an IoError again when it was one. */
export function receiveError(e: SentError): Error {
  if (e.errno !== undefined && e.op !== undefined) return new IoError(e.errno, e.op, e.handle, { message: e.message, code: e.code })
  return new Error(e.message)
}
