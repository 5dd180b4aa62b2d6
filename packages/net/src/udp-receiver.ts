/**
 * The receive side of a {@link UdpChannel}: one multishot RECVMSG drawing
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
import type { Subscriber } from 'rxjs'
import {
  allocChunk,
  ECANCELED,
  IoError,
  IORING_CQE_BUFFER_SHIFT,
  IORING_CQE_F_BUFFER,
  IORING_CQE_F_MORE,
  MessageTruncatedError,
  parseRecvmsgOut,
  type Proactor,
} from '@ringio/core'
import { PeerTable, ReceivedDatagram, type Peer } from './udp-peers.js'
import { MSG_TRUNC } from './msghdr.js'
import { MessageReceiver } from './message-receiver.js'
import type { Datagram, UdpChannel } from './udp.js'

/** Room for the sender's address in each pool buffer: `sizeof(struct sockaddr_in6)`. */
const NAME_SPACE = 28
/** The largest UDP payload (65535 - 8): a pool buffer with this much room never cuts a datagram. */
const MAX_UDP_PAYLOAD = 65527

/** The receive side: a multishot RECVMSG in flight while someone listens. */
export class DatagramReceiver extends MessageReceiver<Datagram> {
  private readonly backlog: (Datagram | Error)[] = []
  private readonly peers = new PeerTable()

  constructor(
    proactor: Proactor,
    fd: number,
    capacity: number,
    private readonly onTruncate: 'error' | 'flag',
  ) {
    super(proactor, fd, capacity, NAME_SPACE, 0)
  }

  attach(sub: Subscriber<Datagram>): void {
    if (this.sub !== null) throw new Error('ringio: this UDP socket already has a subscriber (subscribe to messages$ once)')
    if (this.stopped) {
      sub.complete()
      return
    }
    this.sub = sub
    while (this.backlog.length > 0 && this.sub === sub) this.emit(this.backlog.shift()!)
    this.arm()
  }

  stop(): void {
    this.stopped = true
    const sub = this.sub
    if (sub !== null) this.detach(sub)
    sub?.complete()
  }

  complete(res: number, flags: number): void {
    if ((flags & IORING_CQE_F_MORE) === 0) this.armed = false
    if (res === -ECANCELED) {
      this.arm() // a new subscriber came while the cancel was in flight
      return
    }
    if (this.noBuffers(res)) return
    let item: Datagram | Error | null
    if (res < 0) item = new IoError(-res, 'recvmsg', this.fd)
    else if ((flags & IORING_CQE_F_BUFFER) !== 0) item = this.readPooled(flags >>> IORING_CQE_BUFFER_SHIFT, res)
    else item = this.readOwn(res)
    if (item !== null) {
      if (this.sub !== null) this.emit(item)
      else if (!this.stopped) this.backlog.push(item)
    }
    this.arm()
  }

  /** A datagram in pool buffer `bid`: copied out, the buffer released at once. Null when nobody will ever read it. */
  private readPooled(bid: number, res: number): Datagram | Error | null {
    const group = this.group!
    if (this.stopped && this.sub === null) {
      group.release(bid)
      return null
    }
    const view = group.view(bid, res)
    const out = parseRecvmsgOut(view, NAME_SPACE, 0, this.out)
    if (out === null) {
      group.release(bid)
      return new IoError(14 /* EFAULT */, 'recvmsg', this.fd)
    }
    const size = out.payloadlen
    const truncated = size > this.capacity || (out.flags & MSG_TRUNC) !== 0
    if (truncated && this.onTruncate === 'error') {
      group.release(bid)
      return new MessageTruncatedError(size, this.capacity)
    }
    const len = Math.min(size, this.capacity, out.payloadBytes)
    const data = allocChunk(len)
    view.copy(data, 0, out.payloadOffset, out.payloadOffset + len)
    const from = this.peers.lookup(view.subarray(out.nameOffset, out.nameOffset + Math.min(out.namelen, NAME_SPACE)))
    group.release(bid)
    return datagram(data, from, truncated, size)
  }

  /** A datagram in the socket's own buffer (fallback mode). */
  private readOwn(res: number): Datagram | Error {
    const hdr = this.hdr!
    const truncated = (hdr.flags & MSG_TRUNC) !== 0
    if (truncated && this.onTruncate === 'error') return new MessageTruncatedError(res, this.capacity)
    const len = Math.min(res, this.capacity)
    const data = allocChunk(len)
    hdr.data.copy(data, 0, 0, len)
    return datagram(data, this.peers.lookup(hdr.sender), truncated, res)
  }

  private emit(item: Datagram | Error): void {
    const sub = this.sub!
    if (item instanceof Error) {
      this.detach(sub)
      sub.error(item)
    } else {
      sub.next(item)
    }
  }

  /** Pool or own buffer, decided once: the pool whenever its buffers hold every datagram this channel accepts. */
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
