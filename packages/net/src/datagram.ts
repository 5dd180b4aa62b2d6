/**
 * The datagram type UDP channels receive and send: apart from `udp.ts`, so
 * the receiver and the peer table can name it without importing the channel.
 *
 * @packageDocumentation
 */

/** A received (or to-be-sent) datagram. */
export interface Datagram {
  /** The payload (owned: keep it as long as you like). May be empty. */
  data: Buffer
  /** The peer's IP address. */
  address: string
  /** The peer's port. */
  port: number
  /** Only with `onTruncate: 'flag'`: the datagram was longer than `maxMessage` and `data` holds its first bytes. */
  truncated?: boolean
  /** With `truncated`: the datagram's real length. */
  size?: number
}
