/**
 * `struct sockaddr_in` / `sockaddr_in6` / `sockaddr_un` encoding, and the
 * decoded form users see.
 *
 * @packageDocumentation
 */
import { isIP } from 'node:net'

/** A decoded socket address. */
export interface SocketAddress {
  /** `'IPv4'`, `'IPv6'` or `'unix'`. */
  family: 'IPv4' | 'IPv6' | 'unix'
  /** The IP address, or the socket path (a leading `'\0'` for the abstract namespace). */
  address: string
  /** The port (0 for unix sockets). */
  port: number
}

/** Address families. */
export const AF_UNIX = 1
/** @see AF_UNIX */
export const AF_INET = 2
/** @see AF_UNIX */
export const AF_INET6 = 10

/**
 * The IP literal `host` stands for without a lookup, or null for a host name
 * (which needs one: see `resolveHost`). `'localhost'` is the loopback address
 * without asking the resolver (RFC 6761 §6.3 lets a resolver answer it
 * itself; it also keeps `localhost` synchronous and IPv4 by default, as it
 * always was here): 127.0.0.1, or ::1 when `family` is 6.
 *
 * ## Example
 * ```ts
 * literalHost('::1')        // '::1'
 * literalHost('localhost')  // '127.0.0.1'
 * literalHost('example.org') // null
 * ```
 */
export function literalHost(host: string, family: 0 | 4 | 6 = 0): string | null {
  if (host === 'localhost') return family === 6 ? '::1' : '127.0.0.1'
  return isIP(host) !== 0 ? host : null
}

/**
 * Encodes `host:port` as a sockaddr. `host` must be a numeric IPv4 or IPv6
 * address or `'localhost'` (127.0.0.1): this is the synchronous step after
 * name resolution, it never does a lookup itself.
 *
 * ## Example
 * ```ts
 * sockets.bind(fd, encodeInet('127.0.0.1', 0))
 * ```
 * @throws TypeError for a host that is not an IP literal (a host name:
 * `connect()`, `listen()` and `resolveHost()` resolve those), RangeError for a bad port
 */
export function encodeInet(host: string, port: number): Buffer {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port must be an integer 0..65535, got ${String(port)}`)
  const h = host === 'localhost' ? '127.0.0.1' : host
  const kind = isIP(h)
  if (kind === 4) {
    const b = Buffer.alloc(16)
    b.writeUInt16LE(AF_INET, 0)
    b.writeUInt16BE(port, 2)
    const parts = h.split('.').map(Number)
    for (let i = 0; i < 4; i++) b[4 + i] = parts[i]!
    return b
  }
  if (kind === 6) {
    const b = Buffer.alloc(28)
    b.writeUInt16LE(AF_INET6, 0)
    b.writeUInt16BE(port, 2)
    const [addr, scope] = h.split('%') as [string, string | undefined]
    ipv6Bytes(addr).copy(b, 8)
    b.writeUInt32LE(scope === undefined ? 0 : Number(scope) || 0, 24)
    return b
  }
  throw new TypeError(`host must be an IPv4 or IPv6 address here, got '${String(host)}' (a host name must be resolved first: resolveHost())`)
}

/** Encodes a unix socket path (a leading `'\0'` names the abstract namespace). */
export function encodeUnix(path: string): Buffer {
  const bytes = Buffer.from(path, 'utf8')
  if (bytes.length === 0 || bytes.length > 107) throw new RangeError(`unix socket path must be 1..107 bytes, got ${bytes.length}`)
  const abstract = bytes[0] === 0
  // sockaddr_un: sa_family + path; a filesystem path is NUL-terminated, an abstract one is not.
  const b = Buffer.alloc(2 + bytes.length + (abstract ? 0 : 1))
  b.writeUInt16LE(AF_UNIX, 0)
  bytes.copy(b, 2)
  return b
}

/** Decodes a sockaddr written by the kernel. */
export function decodeSockaddr(b: Uint8Array): SocketAddress {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.length)
  const family = buf.readUInt16LE(0)
  if (family === AF_INET) return { family: 'IPv4', address: `${buf[4]}.${buf[5]}.${buf[6]}.${buf[7]}`, port: buf.readUInt16BE(2) }
  if (family === AF_INET6) return { family: 'IPv6', address: ipv6String(buf.subarray(8, 24)), port: buf.readUInt16BE(2) }
  if (family === AF_UNIX) {
    const raw = buf.subarray(2)
    const end = raw[0] === 0 ? raw.length : raw.indexOf(0) === -1 ? raw.length : raw.indexOf(0)
    return { family: 'unix', address: raw.subarray(0, end).toString('utf8'), port: 0 }
  }
  throw new TypeError(`unknown address family ${family}`)
}

function ipv6Bytes(addr: string): Buffer {
  const out = Buffer.alloc(16)
  let s = addr
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s)
  if (v4) {
    const p = v4[1]!.split('.').map(Number)
    s = s.slice(0, v4.index) + (((p[0]! << 8) | p[1]!).toString(16) + ':' + ((p[2]! << 8) | p[3]!).toString(16))
  }
  const [l, r] = s.includes('::') ? s.split('::') : [s, undefined]
  const left = l ? l.split(':') : []
  const right = r ? r.split(':') : []
  const groups = r === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16) || 0, i * 2))
  return out
}

function ipv6String(b: Buffer): string {
  // An IPv4-mapped address (an IPv4 peer of a dual-stack socket) reads as ::ffff:a.b.c.d, as inet_ntop and Node write it.
  if (b.readUInt32BE(0) === 0 && b.readUInt32BE(4) === 0 && b.readUInt32BE(8) === 0xffff) return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`
  const g: string[] = []
  for (let i = 0; i < 16; i += 2) g.push(b.readUInt16BE(i).toString(16))
  // Compress the longest run of zero groups, as inet_ntop does.
  let bestAt = -1
  let bestLen = 0
  for (let i = 0; i < 8; ) {
    if (g[i] !== '0') { i++; continue }
    let j = i
    while (j < 8 && g[j] === '0') j++
    if (j - i > bestLen && j - i > 1) { bestAt = i; bestLen = j - i }
    i = j
  }
  if (bestAt < 0) return g.join(':')
  return `${g.slice(0, bestAt).join(':')}::${g.slice(bestAt + bestLen).join(':')}`
}
