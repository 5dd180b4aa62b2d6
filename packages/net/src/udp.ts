/**
 * `udp()`: a UDP socket as a {@link Channel} of datagrams. One multishot
 * RECVMSG while `messages$` is subscribed, each datagram (with its sender's
 * address) landing in a buffer of the shared message pool
 * (`configureMessagePool`) that is copied out and given back at once; one
 * SENDMSG per datagram through an ordered {@link MessageQueue}.
 *
 * @packageDocumentation
 */
import { ClosableChannel } from './closable-channel.js'
import { Observable } from 'rxjs'
import { closedChannelError, EBADF, getProactor, MessageQueue, ownBytes, run, sockets, type Channel, type MessageTruncatedError, type Proactor, type SendmsgOp } from '@ringio/core/transport'
import { AF_INET, AF_INET6, decodeSockaddr, encodeInet, literalHost, type SocketAddress } from './sockaddr.js'
import { resolveHost, type LookupFunction } from './resolve.js'
import { SendHeader } from './msghdr.js'
import {
  ENOTSOCK,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPV6_JOIN_GROUP,
  IPV6_LEAVE_GROUP,
  IPV6_MULTICAST_HOPS,
  IPV6_MULTICAST_LOOP,
  IPV6_V6ONLY,
  IP_ADD_MEMBERSHIP,
  IP_DROP_MEMBERSHIP,
  IP_MULTICAST_LOOP,
  IP_MULTICAST_TTL,
  SOCK_DGRAM,
  SOL_SOCKET,
  SO_BROADCAST,
  SO_RCVBUF,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SO_SNDBUF,
} from './constants.js'
import type { Datagram } from './datagram.js'
import { DatagramReceiver } from './udp-receiver.js'
import { replyName } from './udp-peers.js'

/** A datagram waiting to be sent: its payload and, unless connected, the encoded peer address. */
interface OutgoingDatagram {
  data: Uint8Array
  name: Uint8Array | null
}

/** A peer address for {@link UdpChannel.send}. */
export interface UdpPeer {
  /**
   * An IPv4 or IPv6 literal (`'localhost'` means 127.0.0.1). A host name is
   * taken by {@link UdpChannel.connect} (resolved once) but not by
   * {@link UdpChannel.send}, which never does a lookup per datagram.
   */
  address: string
  /** The port. */
  port: number
}

/** Options of {@link udp}. */
export interface UdpOptions {
  /** `'udp4'` (default, unless `host` is IPv6) or `'udp6'`. */
  type?: 'udp4' | 'udp6'
  /**
   * Local address to bind: default `'0.0.0.0'` (`'::'` for udp6);
   * `'localhost'` is 127.0.0.1 (::1 for udp6). A host name needs a lookup:
   * {@link openUdp} takes one, `udp()` throws a TypeError for it.
   */
  host?: string
  /** The resolver for host names given to {@link openUdp} and {@link UdpChannel.connect} (default `dns.promises.lookup`). */
  lookup?: LookupFunction
  /** Local port; 0 (default) picks a free one: read it from `address()`. */
  port?: number
  /** SO_REUSEADDR (several sockets on one multicast port). Default false. */
  reuseAddr?: boolean
  /** SO_REUSEPORT (the kernel spreads datagrams across sockets/processes). Default false. */
  reusePort?: boolean
  /** IPV6_V6ONLY for udp6. Default: the system's (dual-stack on Linux). */
  ipv6Only?: boolean
  /**
   * The largest datagram delivered whole, in bytes. Default 65536 (above the
   * 65507-byte UDP/IPv4 maximum, so nothing is ever cut). Datagrams are
   * received into the shared message pool, not a buffer per socket.
   */
  maxMessage?: number
  /**
   * What a datagram longer than `maxMessage` does (the kernel reports
   * `MSG_TRUNC`): `'error'` (default) errors `messages$` with
   * {@link MessageTruncatedError} — the socket stays open, subscribe again
   * (e.g. `retry()`) to go on; `'flag'` emits it with `truncated: true` and
   * its real `size`. Never a silently cut datagram.
   */
  onTruncate?: 'error' | 'flag'
  /** SO_RCVBUF in bytes (the kernel doubles it). */
  recvBufferSize?: number
  /** SO_SNDBUF in bytes. */
  sendBufferSize?: number
  /** Queued datagrams at or above which `writable` is false. Default 1024. */
  highWaterMark?: number
  /**
   * Datagrams with the kernel at once (1..1024, default 32). Sends started
   * together go to the kernel in one `io_uring_enter`, issued in `send()`
   * order, and each runs at once while the socket's send buffer has room.
   * When the buffer is full, datagrams waiting for room may leave in a
   * different order — UDP itself promises no order. `1` keeps strict order
   * at the cost of one kernel entry per datagram.
   */
  sendWindow?: number
}

// Only these concern the socket itself; every other send error (EMSGSIZE,
// ECONNREFUSED after an ICMP unreachable, EACCES without SO_BROADCAST,
// ENETUNREACH…) concerns one datagram and rejects only its send().
const FATAL = new Set([EBADF, ENOTSOCK])

/**
 * Opens a UDP socket bound to `host:port` (synchronously: `address()` is
 * valid at once) and returns it as a channel of datagrams.
 *
 * ## Example
 * ```ts
 * const sock = udp({ port: 5353 })
 * sock.messages$.subscribe((d) => sock.send(d))            // echo: a Datagram carries its peer
 * await sock.send('ping', { address: '127.0.0.1', port: 5353 })
 * ```
 * @throws `IoError` (`EADDRINUSE`, `EACCES`…) from bind; TypeError/RangeError for bad options
 */
export function udp(opts: UdpOptions = {}): UdpChannel {
  return new UdpChannel(opts)
}

/**
 * A bound UDP socket: {@link messages$} of datagrams, {@link send} to any
 * peer (or the connected one).
 *
 * # Cancel safety
 * Unsubscribing cancels the pending (multishot) RECVMSG; datagrams that
 * raced the cancel are kept and go first to the next subscriber. Datagrams that arrive
 * while nobody is subscribed wait in the kernel's socket buffer (and, as
 * always with UDP, are dropped by the kernel when it is full).
 */
export class UdpChannel extends ClosableChannel<OutgoingDatagram> implements Channel<Datagram, Datagram> {
  /** The socket's fd (owned). */
  readonly fd: number
  /**
   * The received datagrams, in arrival order, each with its sender. One
   * subscriber at a time. Errors with {@link MessageTruncatedError} (see
   * `onTruncate`) or `IoError` (e.g. `ECONNREFUSED` on a connected socket
   * whose peer port is closed); the socket stays open after either.
   * Completes on `close()`.
   */
  readonly messages$: Observable<Datagram>
  /** @internal */
  protected readonly proactor: Proactor
  private readonly family: number
  /** @internal */
  protected readonly queue: MessageQueue<OutgoingDatagram>
  /** One send header per window slot: each in-flight SENDMSG points at its own. */
  private readonly sendHdrs: SendHeader[] = []
  private readonly sendOps: SendmsgOp[] = []
  /** @internal */
  protected readonly receiver: DatagramReceiver
  private lastPeer: { address: string; port: number; name: Buffer } | null = null
  private readonly lookup: LookupFunction | undefined

  /** Use {@link udp}. */
  constructor(opts: UdpOptions) {
    super()
    if (typeof opts !== 'object' || opts === null) throw new TypeError('udp: options must be an object')
    const v6 = opts.type === 'udp6' || (opts.type === undefined && opts.host?.includes(':') === true)
    if (opts.host !== undefined && literalHost(opts.host) === null) {
      throw new TypeError(`udp: host '${String(opts.host)}' is not an IP address; a host name needs a lookup: use \`await openUdp(options)\``)
    }
    const local = encodeInet(literalHost(opts.host ?? (v6 ? '::' : '0.0.0.0'), v6 ? 6 : 4)!, opts.port ?? 0)
    if ((local.readUInt16LE(0) === AF_INET6) !== v6) throw new TypeError(`udp: host '${opts.host}' does not match type '${opts.type}'`)
    const maxMessage = opts.maxMessage ?? 65536
    if (!Number.isInteger(maxMessage) || maxMessage < 0 || maxMessage > 1 << 24) throw new RangeError(`maxMessage must be an integer 0..16777216, got ${String(maxMessage)}`)
    this.proactor = getProactor()
    this.lookup = opts.lookup
    this.family = v6 ? AF_INET6 : AF_INET
    this.fd = this.proactor.socket(this.family, SOCK_DGRAM, 0)
    try {
      if (opts.reuseAddr === true) sockets.setIntOption(this.fd, SOL_SOCKET, SO_REUSEADDR, 1)
      if (opts.reusePort === true) sockets.setIntOption(this.fd, SOL_SOCKET, SO_REUSEPORT, 1)
      if (v6 && opts.ipv6Only !== undefined) sockets.setIntOption(this.fd, IPPROTO_IPV6, IPV6_V6ONLY, opts.ipv6Only ? 1 : 0)
      if (opts.recvBufferSize !== undefined) sockets.setIntOption(this.fd, SOL_SOCKET, SO_RCVBUF, opts.recvBufferSize)
      if (opts.sendBufferSize !== undefined) sockets.setIntOption(this.fd, SOL_SOCKET, SO_SNDBUF, opts.sendBufferSize)
      sockets.bind(this.fd, local)
    } catch (err) {
      sockets.closeSync(this.fd)
      throw err
    }
    const fd = this.fd
    const window = opts.sendWindow ?? 32
    this.queue = new MessageQueue(this.proactor, {
      op: 'sendmsg',
      handle: fd,
      highWaterMark: opts.highWaterMark,
      window,
      fatal: (errno) => FATAL.has(errno),
      start: (m, c, slot) => {
        // One header and one op object per window slot: a slot has one send in flight.
        const h = (this.sendHdrs[slot] ??= new SendHeader())
        const op = (this.sendOps[slot] ??= { kind: 'sendmsg', fd, msg: h.msg, flags: 0, keep: null })
        op.keep = h.set(m.data, m.name)
        return this.proactor.start(op, c)
      },
    })
    this.receiver = new DatagramReceiver(this.proactor, fd, maxMessage, opts.onTruncate ?? 'error')
    this.messages$ = new Observable<Datagram>((sub) => {
      this.receiver.attach(sub)
      return () => this.receiver.detach(sub)
    })
  }

  /** The bound local address (the real port when bound to 0). */
  get localAddress(): SocketAddress {
    return decodeSockaddr(sockets.sockName(this.fd))
  }

  /** @deprecated Use the {@link localAddress} getter (same value); removed in the next minor release. */
  address(): SocketAddress {
    return this.localAddress
  }

  /**
   * Sends one datagram, after every datagram sent before it. With a
   * `Datagram` (as received) the peer is its `address`/`port`; otherwise
   * `peer`, or the connected peer after {@link connect}. Payloads up to 4 KiB
   * are copied at once; larger ones must stay untouched until the Promise settles.
   * @returns rejects with `IoError`: `EMSGSIZE` (too big for UDP), `ECONNREFUSED`,
   * `EACCES` (broadcast without `setBroadcast`), `EDESTADDRREQ` (no peer),
   * `EPIPE` after `close()`; TypeError/RangeError for a bad payload or peer.
   * A failed datagram does not affect the ones after it.
   *
   * The peer must be an IP address (or `'localhost'`): a host name rejects
   * with a TypeError, never a lookup per datagram (one getaddrinfo on the
   * threadpool each, and a resolved send could not keep its place in the
   * send order). Resolve it once with `resolveHost()`, or {@link connect}
   * the socket to it and send without a peer.
   */
  send(msg: Datagram | Uint8Array | string, peer?: UdpPeer): Promise<void> {
    try {
      const { data, to } = this.normalize(msg, peer)
      if (this.isClosed) return Promise.reject(closedChannelError('sendmsg', this.fd))
      return this.queue.enqueue({ data: ownBytes(data), name: to === undefined ? null : this.sockaddr(to) })
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /**
   * Connected UDP: sends without a peer go to `peer`, and only its datagrams
   * are received (the kernel filters the rest). `peer.address` may be a host
   * name: it is resolved once (its first IPv4 address on a udp4 socket; on a
   * udp6 socket the first address, an IPv4 one reached v4-mapped).
   *
   * ## Example
   * ```ts
   * await sock.connect({ address: 'ntp.internal', port: 123 }, { signal: AbortSignal.timeout(2000) })
   * await sock.send(request)
   * ```
   * @param options `signal`: aborting during the lookup rejects at once with
   * its reason and leaves the socket unconnected (getaddrinfo itself runs to
   * its end on Node's threadpool)
   * @returns rejects with `IoError` (`EINVAL`, `ENETUNREACH`…; `ENOTFOUND`,
   * `EAI_AGAIN`… of op `'getaddrinfo'` for a name that does not resolve)
   */
  async connect(peer: UdpPeer, options: { signal?: AbortSignal } = {}): Promise<void> {
    if (typeof peer !== 'object' || peer === null) throw new TypeError('udp: peer must be { address, port }')
    let to = peer
    if (typeof peer.address === 'string' && peer.address !== '' && literalHost(peer.address) === null) {
      encodeInet('0.0.0.0', peer.port) // a bad port throws before the lookup
      const [first] = await resolveHost(peer.address, { family: this.family === AF_INET ? 4 : 0, signal: options.signal, lookup: this.lookup })
      to = { address: first!.address, port: peer.port }
    }
    const addr = this.sockaddr(to)
    await run({ kind: 'connect', fd: this.fd, addr }, undefined, { handle: `${peer.address}:${peer.port}` })
  }

  /**
   * The connected peer, after {@link connect}.
   * @throws IoError `ENOTCONN` on a socket that is not connected
   */
  get remoteAddress(): SocketAddress {
    return decodeSockaddr(sockets.peerName(this.fd))
  }

  /** SO_BROADCAST: allows sending to broadcast addresses. */
  setBroadcast(on = true): void {
    sockets.setIntOption(this.fd, SOL_SOCKET, SO_BROADCAST, on ? 1 : 0)
  }

  /**
   * Joins multicast group `group` on the interface with address `iface`
   * (IPv4; default: the kernel's choice) or interface index (IPv6; default 0).
   */
  addMembership(group: string, iface?: string | number): void {
    this.membership(group, iface, true)
  }

  /** Leaves a group joined with {@link addMembership}. */
  dropMembership(group: string, iface?: string | number): void {
    this.membership(group, iface, false)
  }

  /** IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS (0..255). */
  setMulticastTTL(ttl: number): void {
    if (this.family === AF_INET6) sockets.setIntOption(this.fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, ttl)
    else sockets.setIntOption(this.fd, IPPROTO_IP, IP_MULTICAST_TTL, ttl)
  }

  /** IP_MULTICAST_LOOP: whether our own multicast datagrams come back to us. */
  setMulticastLoopback(on: boolean): void {
    if (this.family === AF_INET6) sockets.setIntOption(this.fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, on ? 1 : 0)
    else sockets.setIntOption(this.fd, IPPROTO_IP, IP_MULTICAST_LOOP, on ? 1 : 0)
  }

  private normalize(msg: Datagram | Uint8Array | string, peer: UdpPeer | undefined): { data: Uint8Array; to: UdpPeer | undefined } {
    if (typeof msg === 'string') return { data: Buffer.from(msg, 'utf8'), to: peer }
    if (msg instanceof Uint8Array) return { data: msg, to: peer }
    if (typeof msg === 'object' && msg !== null && msg.data instanceof Uint8Array) return { data: msg.data, to: peer ?? msg }
    throw new TypeError(`udp send: data must be a Buffer, Uint8Array, string or Datagram, got ${msg === null ? 'null' : typeof msg}`)
  }

  private sockaddr(peer: UdpPeer): Buffer {
    if (typeof peer !== 'object' || peer === null) throw new TypeError('udp: peer must be { address, port }')
    // A reply to a datagram received here: the sockaddr it came from, as is.
    const raw = replyName(peer, peer.address, peer.port)
    if (raw !== null && raw.readUInt16LE(0) === this.family) return raw
    const last = this.lastPeer
    if (last !== null && last.address === peer.address && last.port === peer.port) return last.name
    if (typeof peer.address === 'string' && peer.address !== '' && literalHost(peer.address) === null) {
      throw new TypeError(`udp send: '${peer.address}' is a host name; send() does no lookup per datagram: resolve it once (resolveHost()) or connect() to it`)
    }
    let name = encodeInet(peer.address, peer.port)
    // An IPv4 peer from a udp6 socket: the v4-mapped address (dual stack).
    if (this.family === AF_INET6 && name.readUInt16LE(0) === AF_INET) name = encodeInet(`::ffff:${peer.address === 'localhost' ? '127.0.0.1' : peer.address}`, peer.port)
    this.lastPeer = { address: peer.address, port: peer.port, name }
    return name
  }

  private membership(group: string, iface: string | number | undefined, add: boolean): void {
    const g = encodeInet(group, 0)
    if (g.readUInt16LE(0) === AF_INET6) {
      const mreq = Buffer.alloc(20) // struct ipv6_mreq { in6_addr; int ifindex }
      g.copy(mreq, 0, 8, 24)
      mreq.writeUInt32LE(typeof iface === 'number' ? iface : 0, 16)
      sockets.setBytesOption(this.fd, IPPROTO_IPV6, add ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP, mreq)
      return
    }
    const mreq = Buffer.alloc(8) // struct ip_mreq { in_addr multiaddr; in_addr interface }
    g.copy(mreq, 0, 4, 8)
    if (typeof iface === 'string') encodeInet(iface, 0).copy(mreq, 4, 4, 8)
    sockets.setBytesOption(this.fd, IPPROTO_IP, add ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, mreq)
  }
}
