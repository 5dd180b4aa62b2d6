/**
 * The receive side of a {@link UdpChannel}: one RECVMSG in flight while
 * `messages$` has a subscriber, a backlog for what arrives between
 * subscribers, and the sender's address decoded once per peer change.
 *
 * @packageDocumentation
 */
import type { Subscriber } from 'rxjs'
import { allocChunk, ECANCELED, IoError, MessageTruncatedError, type Completion, type OpId, type Proactor } from '@ringio/core'
import { decodeSockaddr, type SocketAddress } from './sockaddr.js'
import { MSG_TRUNC, RecvHeader } from './msghdr.js'
import type { Datagram, UdpChannel } from './udp.js'

/** The receive side: one RECVMSG in flight while someone listens. */
export class DatagramReceiver implements Completion {
  private sub: Subscriber<Datagram> | null = null
  private hdr: RecvHeader | null = null
  private armed = false
  private opId: OpId = -1
  private stopped = false
  private readonly backlog: (Datagram | Error)[] = []
  private lastName: Buffer | null = null
  private lastAddr: SocketAddress | null = null

  constructor(
    private readonly proactor: Proactor,
    private readonly fd: number,
    private readonly capacity: number,
    private readonly onTruncate: 'error' | 'flag',
  ) {}

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

  detach(sub: Subscriber<Datagram>): void {
    if (this.sub !== sub) return
    this.sub = null
    if (this.armed) this.proactor.cancel(this.opId)
  }

  stop(): void {
    this.stopped = true
    const sub = this.sub
    if (sub !== null) this.detach(sub)
    sub?.complete()
  }

  complete(res: number): void {
    this.armed = false
    if (res === -ECANCELED) {
      this.arm() // a new subscriber came while the cancel was in flight
      return
    }
    const item = res < 0 ? new IoError(-res, 'recvmsg', this.fd) : this.read(res)
    if (this.sub !== null) this.emit(item)
    else if (!this.stopped) this.backlog.push(item)
    this.arm()
  }

  private read(res: number): Datagram | Error {
    const hdr = this.hdr!
    const truncated = (hdr.flags & MSG_TRUNC) !== 0
    if (truncated && this.onTruncate === 'error') return new MessageTruncatedError(res, this.capacity)
    const len = Math.min(res, this.capacity)
    const data = allocChunk(len)
    hdr.data.copy(data, 0, 0, len)
    const from = this.sender(hdr.sender)
    return truncated ? { data, address: from.address, port: from.port, truncated, size: res } : { data, address: from.address, port: from.port }
  }

  private sender(name: Buffer): SocketAddress {
    // Most traffic comes from a few peers: decode an address once per change.
    if (this.lastName !== null && this.lastName.equals(name)) return this.lastAddr!
    const addr = decodeSockaddr(name)
    // A v4-mapped sender on a dual-stack udp6 socket (::ffff:a.b.c.d): report the IPv4 address.
    if (addr.family === 'IPv6' && name.readUInt32LE(8) === 0 && name.readUInt32LE(12) === 0 && name.readUInt32LE(16) === 0xffff0000) {
      addr.address = `${name[20]}.${name[21]}.${name[22]}.${name[23]}`
    }
    this.lastName = Buffer.from(name)
    this.lastAddr = addr
    return addr
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

  private arm(): void {
    if (this.armed || this.sub === null || this.stopped || this.proactor.closed) return
    this.hdr ??= new RecvHeader(this.capacity)
    this.hdr.reset()
    this.armed = true
    // MSG_TRUNC in the call: the result is the datagram's real length (udp(7)).
    this.opId = this.proactor.recvmsg(this.fd, this.hdr.msg, MSG_TRUNC, this.hdr.keep, this)
  }
}
