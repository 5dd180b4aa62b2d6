/**
 * The receive side of a `UdpChannel`: one multishot RECVMSG drawing
 * buffers from the shared message pool while `messages$` has a subscriber
 * (no receive buffer per socket), a backlog for what arrives between
 * subscribers, and the sender's address decoded once per peer change.
 *
 * A channel whose `maxMessage` is beyond what a pool buffer holds (only when
 * the pool was configured smaller than a UDP datagram) falls back to one
 * RECVMSG at a time into a buffer of its own.
 *
 * @packageDocumentation
 */
import { allocChunk, MessageTruncatedError, type Proactor } from '@ringio/core/transport'
import { PeerTable, ReceivedDatagram, type Peer } from './udp-peers.js'
import { MSG_TRUNC } from './msghdr.js'
import { MessageReceiver, type ReceivedMessage } from './message-receiver.js'
import type { Datagram } from './datagram.js'

/** Room for the sender's address in each pool buffer: `sizeof(struct sockaddr_in6)`. */
const NAME_SPACE = 28
/** The largest UDP payload (65535 - 8): a pool buffer with this much room never cuts a datagram. */
const MAX_UDP_PAYLOAD = 65527

/**
 * The receive side: a multishot RECVMSG in flight while someone listens. An
 * error (a truncated datagram, `ECONNREFUSED`…) errors the current
 * subscriber only; a later one goes on receiving. `close()` drops what was
 * not read.
 */
export class DatagramReceiver extends MessageReceiver<Datagram> {
  private readonly peers = new PeerTable()

  constructor(
    proactor: Proactor,
    fd: number,
    capacity: number,
    private readonly onTruncate: 'error' | 'flag',
  ) {
    super(proactor, fd, capacity, NAME_SPACE, 0, { what: 'UDP socket', errorsEnd: false, drainAfterStop: false })
  }

  /** A datagram, copied out with its sender; or the truncation error. */
  protected take(m: ReceivedMessage): Datagram | Error {
    const truncated = m.size > this.capacity || (m.flags & MSG_TRUNC) !== 0
    if (truncated && this.onTruncate === 'error') return new MessageTruncatedError(m.size, this.capacity)
    const len = Math.min(m.size, this.capacity, m.stored)
    const data = allocChunk(len)
    m.buf.copy(data, 0, m.payloadOffset, m.payloadOffset + len)
    return datagram(data, this.peers.lookup(m.name), truncated, m.size)
  }

  /** A pool buffer too small for `capacity` still serves when it holds any UDP datagram whole. */
  protected override fitsPool(room: number): boolean {
    return super.fitsPool(room) || room >= MAX_UDP_PAYLOAD
  }
}

/** A received datagram, carrying its peer (privately) so a reply reuses the sockaddr. */
function datagram(data: Buffer, from: Peer, truncated: boolean, size: number): Datagram {
  const d = new ReceivedDatagram(data, from)
  if (truncated) {
    d.truncated = true
    d.size = size
  }
  return d
}
