/**
 * @ringio/net: TCP and Unix stream sockets over the ringio proactor.
 *
 * ## Example
 * ```ts
 * import { listen } from '@ringio/net'
 * listen({ port: 7000 }).subscribe((conn) =>
 *   conn.data$.subscribe({ next: (b) => conn.write(b), complete: () => conn.end() }))
 * ```
 * @packageDocumentation
 */

// Streams
export { Connection, type ConnectionOptions, type LentChunk, type ReadOptions } from './connection.js'
export { writeTo, type WriteTarget, type WriteToOptions } from './write-to.js'
export { listen, type ListenOptions } from './listen.js'
export { connect, type ConnectOptions } from './connect.js'

// Host names
export { resolveHost, type AddressFamily, type LookupFunction, type ResolvedAddress, type ResolveOptions } from './resolve.js'
export { openUdp } from './open-udp.js'
export { literalHost } from './sockaddr.js'

// Message channels (UDP, SOCK_SEQPACKET, codecs)
export * from './channels.js'

// Interop
// Node servers on ringio (http, https, http2, tls)
export { serveNode, type NodeServing, type ServeNodeOptions } from './serve-node.js'
export { NodeSocket, type NodeSocketOptions } from './node-socket.js'
export { toNodeStream, toWebStreams } from './interop.js'
export { PullReader, type ChunkSink } from './pull-reader.js'

// Every core: one handler on N worker threads, a ring and an SO_REUSEPORT listener each
export { serveWorkers, type ServeWorkersOptions, type WorkerCounters, type WorkerCrashed, type WorkerEvent, type WorkerReplaced, type WorkerServer, type WorkerStuck } from './serve-workers.js'
export { runServeWorker, type WorkerHandler, type WorkerInfo } from './serve-worker.js'

// Addresses and the shared read pool
export { decodeSockaddr, encodeInet, encodeUnix, type SocketAddress } from './sockaddr.js'
export { configureMessagePool, configureReadPool, type MessagePoolOptions, type ReadPoolOptions } from './read-pool.js'
