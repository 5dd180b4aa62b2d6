/**
 * Addresses and socket options for the sockets Node wraps around a
 * {@link NodeSocket}: a `tls.TLSSocket`, and the `JSStreamSocket` of an h2c
 * (`http2.createServer`) session.
 *
 * Node's TLS and http2 run on a C++ stream handle. A stream that is not a
 * `net.Socket` with such a handle gets wrapped in Node's `JSStreamSocket`,
 * whose handle (`JSStream`) has no `getpeername`/`getsockname`/`setNoDelay`/
 * `setKeepAlive`: the wrapping socket's `remoteAddress` and friends are then
 * `undefined`, and `setNoDelay`/`setKeepAlive` do nothing. `net.Socket` asks
 * its handle for those, and `TLSWrap` forwards the four methods to its parent
 * handle when the parent has them (`_tls_wrap.js`, `proxiedMethods`); so
 * giving the `JSStream` handle the four methods, answered by the NodeSocket
 * underneath, completes both.
 *
 * This reaches into Node's internal fields (`_handle`, `_handle._parent`,
 * `_handle._parentWrap`, `JSStreamSocket#stream`), stable since Node 12;
 * when they are not there nothing is changed.
 *
 * @packageDocumentation
 */
import { NodeSocket } from './node-socket.js'

interface HandleOut {
  address?: string
  family?: string
  port?: number
}

type Handle = Record<string, unknown>

interface Wrapped {
  _handle?: (Handle & { _parent?: Handle | null; _parentWrap?: { stream?: unknown } | null }) | null
  stream?: unknown
}

/**
 * Gives the `JSStream` handle under `socket` (a TLS socket over a
 * `JSStreamSocket`, or a `JSStreamSocket` itself) the address and option
 * methods of the {@link NodeSocket} it wraps. Idempotent; does nothing for a
 * socket over anything else.
 */
export function adoptWrappedSocket(socket: unknown): void {
  const s = socket as Wrapped | null | undefined
  const handle = s?._handle
  if (handle == null) return
  const underTls = handle._parentWrap?.stream
  if (underTls instanceof NodeSocket && handle._parent != null) give(handle._parent, underTls)
  else if (s!.stream instanceof NodeSocket) give(handle, s!.stream)
}

function give(handle: Handle, socket: NodeSocket): void {
  if (typeof handle['getpeername'] === 'function') return
  const fill = (out: HandleOut, info: HandleOut): number => {
    if (info.address !== undefined) Object.assign(out, { address: info.address, family: info.family, port: info.port })
    return 0
  }
  handle['getpeername'] = (out: HandleOut): number => fill(out, { address: socket.remoteAddress, family: socket.remoteFamily, port: socket.remotePort })
  handle['getsockname'] = (out: HandleOut): number => fill(out, socket.address())
  handle['setNoDelay'] = (enable: boolean): number => (socket.setNoDelay(enable), 0)
  // net.Socket hands its handle the delay in seconds.
  handle['setKeepAlive'] = (enable: boolean, delaySeconds: number): number => (socket.setKeepAlive(enable, delaySeconds * 1000), 0)
}
