/**
 * Message channels: UDP, Unix SOCK_SEQPACKET, and byte streams framed by
 * codecs — plus the pull helpers that share the codecs' buffering.
 * Re-exported by name from `@ringio/net`.
 *
 * @packageDocumentation
 */

// UDP
export { udp, UdpChannel, type UdpOptions, type UdpPeer } from './udp.js'
export type { Datagram } from './datagram.js'

// Unix SOCK_SEQPACKET
export { SeqpacketChannel, type SeqpacketOptions, type SeqpacketSendOptions } from './seqpacket.js'
export { FdsTruncatedError } from './seqpacket-receiver.js'
export { receivedFds } from './scm-rights.js'
export { seqpacket, type SeqpacketConnectOptions, type SeqpacketListenOptions } from './seqpacket-endpoints.js'

// Codecs: the contract and its errors
export { type Codec, type Decoder, type Encoder, decodeEof, FrameTooLargeError, PartialFrameError } from './codec/codec.js'
export { ByteBuffer } from './codec/byte-buffer.js'

// Codecs: built-in framings, and framing any Connection
export { framed, FramedChannel } from './codec/framed.js'
export { lengthPrefixed, lengthPrefixedCodec, type LengthHeader, type LengthPrefixedOptions } from './codec/length-prefixed.js'
export { delimited, delimitedCodec, type DelimitedFrame, type DelimitedOptions } from './codec/delimited.js'

// Pull helpers (Asio's async_read / async_read_until)
export { readExactly, readUntil, type ReadExactlyOptions, type ReadUntilOptions } from './codec/read-helpers.js'
