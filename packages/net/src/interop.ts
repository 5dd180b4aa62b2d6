/**
 * Bridges from a {@link Connection} to Node streams and WHATWG streams, for
 * libraries that speak those. Backpressure goes both ways: a slow consumer
 * pauses the kernel receive; writes resolve when the kernel took the bytes.
 *
 * @packageDocumentation
 */
import type { Connection } from './connection.js'
import { NodeSocket, type NodeSocketOptions } from './node-socket.js'

/**
 * A Node `Duplex` over the connection: a {@link NodeSocket}, so it also has
 * `net.Socket`'s `remoteAddress`, `setTimeout`, `setNoDelay`, …. Destroying
 * it closes the connection (after writes already queued go out, see
 * {@link NodeSocket}); `end()` half-closes after queued writes; the peer's
 * EOF ends the readable side only (`allowHalfOpen`: pass
 * `{ allowHalfOpen: false }` to end the writable side with it, as a
 * `net.Socket` does by default). A slow reader pauses the kernel receive.
 *
 * ## Example
 * ```ts
 * import { pipeline } from 'node:stream/promises'
 * await pipeline(fs.createReadStream('file'), toNodeStream(conn))
 * ```
 * Errors: a receive or send failure (`IoError`, e.g. `ECONNRESET`) destroys
 * the stream with it (`'error'`).
 */
export function toNodeStream(conn: Connection, opts: NodeSocketOptions = {}): NodeSocket {
  return new NodeSocket(conn, { allowHalfOpen: true, ...opts })
}

/**
 * WHATWG streams over the connection: `readable` pulls chunks (cancel closes
 * the read side), `writable` writes in order (close = `end()`, abort = `close()`).
 */
export function toWebStreams(conn: Connection): {
  /** The bytes received, pulled on demand. */
  readable: ReadableStream<Uint8Array>
  /** Writes in order; close = `end()`, abort = `close()`. */
  writable: WritableStream<Uint8Array>
} {
  const reader = conn.pull()
  const readable = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = await reader.next()
      if (chunk === null) controller.close()
      else controller.enqueue(chunk)
    },
    cancel() {
      reader.close()
    },
  })
  const writable = new WritableStream<Uint8Array>({
    write: (chunk) => conn.write(chunk),
    close: () => conn.end(),
    abort: () => conn.close(),
  })
  return { readable, writable }
}
