/**
 * Bridges from a {@link Connection} to Node streams and WHATWG streams, for
 * libraries that speak those. Backpressure goes both ways: a slow consumer
 * pauses the kernel receive; writes resolve when the kernel took the bytes.
 *
 * @packageDocumentation
 */
import { Duplex } from 'node:stream'
import type { Connection } from './connection.js'
import { PullReader } from './pull-reader.js'

/**
 * A Node `Duplex` over the connection. Destroying it closes the connection;
 * `end()` half-closes after queued writes.
 *
 * ## Example
 * ```ts
 * import { pipeline } from 'node:stream/promises'
 * await pipeline(fs.createReadStream('file'), toNodeStream(conn))
 * ```
 */
export function toNodeStream(conn: Connection): Duplex {
  const reader = conn.pull()
  let reading = false
  return new Duplex({
    read() {
      if (reading) return
      reading = true
      const pump = async (): Promise<void> => {
        for (;;) {
          const chunk = await reader.next()
          if (chunk === null) { this.push(null); return }
          if (!this.push(chunk)) { reading = false; return }
        }
      }
      pump().catch((err: Error) => this.destroy(err))
    },
    write(chunk: Buffer, _enc, cb) {
      conn.write(chunk).then(() => cb(), cb)
    },
    writev(chunks, cb) {
      conn.write(chunks.map((c) => c.chunk as Buffer)).then(() => cb(), cb)
    },
    final(cb) {
      conn.end().then(() => cb(), cb)
    },
    destroy(err, cb) {
      reader.close()
      conn.close()
      cb(err)
    },
  })
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
