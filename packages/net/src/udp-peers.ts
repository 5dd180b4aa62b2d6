/**
 * The peers a UDP socket talks to, decoded once: a received datagram's
 * `sockaddr` becomes `{ address, port }` without formatting strings per
 * datagram, and replying to a received {@link Datagram} reuses the very
 * `sockaddr` it came from instead of encoding the address again.
 *
 * @packageDocumentation
 */
import { allocChunk } from '@ringio/core/transport'
import { decodeSockaddr, type SocketAddress } from './sockaddr.js'
import type { Datagram } from './datagram.js'

/** One known peer: its decoded address and its raw `sockaddr` (in a slab, for SENDMSG). */
export interface Peer {
  readonly addr: SocketAddress
  readonly name: Buffer
}

/**
 * A datagram as received: a plain {@link Datagram} whose private field (not
 * enumerable, not copied by a spread) remembers the peer's raw `sockaddr`.
 */
export class ReceivedDatagram implements Datagram {
  readonly #peer: Peer

  constructor(
    public data: Buffer,
    from: Peer,
  ) {
    this.address = from.addr.address
    this.port = from.addr.port
    this.#peer = from
  }

  address: string
  port: number
  declare truncated?: boolean
  declare size?: number

  /** The peer `msg` was received from, when `msg` is a datagram received by ringio. */
  static peerOf(msg: object): Peer | undefined {
    return #peer in msg ? (msg as ReceivedDatagram).#peer : undefined
  }
}

/** Peers remembered per socket; beyond this the table starts over (a server facing many clients stays bounded). */
const MAX_PEERS = 1024

/** A socket's table of peers, keyed by the bytes of their `sockaddr`. */
export class PeerTable {
  private readonly v4 = new Map<number, Peer>()
  private readonly other = new Map<string, Peer>()

  /** The peer whose `sockaddr` is `name` (as the kernel wrote it). */
  lookup(name: Buffer): Peer {
    // AF_INET: family(2) port(2) addr(4): port and address make an exact 48-bit key.
    if (name.length >= 8 && name.readUInt16LE(0) === 2) return known(this.v4, name.readUInt32LE(4) * 65536 + name.readUInt16LE(2), name)
    return known(this.other, name.toString('latin1'), name)
  }
}

/** The peer remembered under `key`, decoded from `name` the first time (the table starts over when full). */
function known<K>(table: Map<K, Peer>, key: K, name: Buffer): Peer {
  let p = table.get(key)
  if (p === undefined) {
    if (table.size >= MAX_PEERS) table.clear()
    p = decode(name)
    table.set(key, p)
  }
  return p
}

function decode(name: Buffer): Peer {
  const addr = decodeSockaddr(name)
  // A v4-mapped sender on a dual-stack udp6 socket (::ffff:a.b.c.d): report the IPv4 address.
  if (addr.family === 'IPv6' && name.readUInt32LE(8) === 0 && name.readUInt32LE(12) === 0 && name.readUInt32LE(16) === 0xffff0000) {
    addr.address = `${name[20]}.${name[21]}.${name[22]}.${name[23]}`
  }
  const copy = allocChunk(name.length)
  name.copy(copy)
  return { addr, name: copy }
}

/**
 * The raw `sockaddr` to reply to `msg` with, when `msg` is a datagram this
 * socket received and its `address`/`port` were not changed since; else null.
 */
export function replyName(msg: object, address: string, port: number): Buffer | null {
  const p = ReceivedDatagram.peerOf(msg)
  return p !== undefined && p.addr.address === address && p.addr.port === port ? p.name : null
}
