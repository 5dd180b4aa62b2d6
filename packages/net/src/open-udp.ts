/**
 * `openUdp()`: `udp()` for a bind address that may be a host name.
 *
 * @packageDocumentation
 */
import { resolveHost } from './resolve.js'
import { literalHost } from './sockaddr.js'
import { UdpChannel, type UdpOptions } from './udp.js'

/**
 * {@link udp} for a bind `host` that may be a host name: the name is resolved
 * first (Node's `dns.lookup`; IPv4 only for `type: 'udp4'`, IPv6 only for
 * `'udp6'`, else the first address the resolver returns, whose family then
 * sets the type), then bound as by `udp()`. An IP literal costs no lookup.
 *
 * ## Example
 * ```ts
 * const sock = await openUdp({ host: os.hostname(), port: 0 }, { signal: AbortSignal.timeout(2000) })
 * ```
 * @returns rejects with `IoError` `ENOTFOUND`, `EAI_AGAIN`, … (op
 * `'getaddrinfo'`, the name as handle), the bind's `IoError`, or the
 * signal's reason when aborted during the lookup (getaddrinfo itself runs to
 * its end on Node's threadpool; nothing is opened)
 */
export async function openUdp(opts: UdpOptions = {}, options: { signal?: AbortSignal } = {}): Promise<UdpChannel> {
  if (typeof opts !== 'object' || opts === null) throw new TypeError('udp: options must be an object')
  if (opts.host === undefined || literalHost(opts.host) !== null) return new UdpChannel(opts)
  const family = opts.type === 'udp4' ? 4 : opts.type === 'udp6' ? 6 : 0
  const [first] = await resolveHost(opts.host, { family, signal: options.signal, lookup: opts.lookup })
  return new UdpChannel({ ...opts, host: first!.address, type: first!.family === 6 ? 'udp6' : 'udp4' })
}
