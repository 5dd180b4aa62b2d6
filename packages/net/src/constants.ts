/**
 * The Linux constants @ringio/net passes to the kernel or compares its
 * answers with, each defined once under its kernel name (values from
 * `<asm-generic/errno.h>`, `<bits/socket.h>`, `<netinet/in.h>`,
 * `<netinet/tcp.h>`, `<linux/in6.h>`). Errno numbers that `@ringio/core`
 * exports (`ECANCELED`, `EPIPE`, `EINTR`, `EPERM`, `EBADF`, …) are imported
 * from there, not repeated here. Internal to the package.
 *
 * @packageDocumentation
 */

// errno (x86_64 and arm64 share the asm-generic numbers)
/** Out of memory. */
export const ENOMEM = 12
/** Bad address (a completion whose buffer the parser could not read). */
export const EFAULT = 14
/** The system's open-file table is full. */
export const ENFILE = 23
/** The process's fd limit is reached. */
export const EMFILE = 24
/** Machine is not on the network. */
export const ENONET = 64
/** Protocol error. */
export const EPROTO = 71
/** Not a socket. */
export const ENOTSOCK = 88
/** Message too long. */
export const EMSGSIZE = 90
/** Protocol not available. */
export const ENOPROTOOPT = 92
/** Operation not supported on the socket. */
export const EOPNOTSUPP = 95
/** Address already in use. */
export const EADDRINUSE = 98
/** Network is down. */
export const ENETDOWN = 100
/** Network is unreachable. */
export const ENETUNREACH = 101
/** Connection aborted. */
export const ECONNABORTED = 103
/** Connection reset by peer. */
export const ECONNRESET = 104
/** No buffer space (also: a provided-buffer ring ran dry). */
export const ENOBUFS = 105
/** Timed out. */
export const ETIMEDOUT = 110
/** Connection refused. */
export const ECONNREFUSED = 111
/** Host is down. */
export const EHOSTDOWN = 112
/** No route to host. */
export const EHOSTUNREACH = 113

// socket(2) types
/** Byte stream (TCP, Unix stream). */
export const SOCK_STREAM = 1
/** Datagrams (UDP). */
export const SOCK_DGRAM = 2
/** Sequenced packets (Unix SOCK_SEQPACKET). */
export const SOCK_SEQPACKET = 5

// shutdown(2)
/** Stop sending: the peer reads EOF. */
export const SHUT_WR = 1
/** Stop sending and receiving. */
export const SHUT_RDWR = 2

// Socket-level options (SOL_SOCKET) and control messages
/** The socket option level, and the cmsg level of SCM_RIGHTS / SCM_CREDENTIALS. */
export const SOL_SOCKET = 1
/** `SO_LINGER`: a zero linger makes close() send RST (`resetAndDestroy`). */
export const SO_LINGER = 13
/** cmsg type: descriptors passed along. */
export const SCM_RIGHTS = 1
/** Allow binding an address in TIME_WAIT. */
export const SO_REUSEADDR = 2
/** Read (and clear) the pending socket error. */
export const SO_ERROR = 4
/** Allow sending to broadcast addresses. */
export const SO_BROADCAST = 6
/** Send buffer size. */
export const SO_SNDBUF = 7
/** Receive buffer size. */
export const SO_RCVBUF = 8
/** TCP keep-alive probes. */
export const SO_KEEPALIVE = 9
/** Several sockets share one port. */
export const SO_REUSEPORT = 15
/** Every received record carries SCM_CREDENTIALS. */
export const SO_PASSCRED = 16

// IPPROTO_IP options
/** The IPv4 option level. */
export const IPPROTO_IP = 0
/** Multicast TTL. */
export const IP_MULTICAST_TTL = 33
/** Multicast loopback. */
export const IP_MULTICAST_LOOP = 34
/** Join a multicast group. */
export const IP_ADD_MEMBERSHIP = 35
/** Leave a multicast group. */
export const IP_DROP_MEMBERSHIP = 36

// IPPROTO_TCP options
/** The TCP option level. */
export const IPPROTO_TCP = 6
/** Disable Nagle's algorithm. */
export const TCP_NODELAY = 1
/** Idle seconds before keep-alive probes start. */
export const TCP_KEEPIDLE = 4
/** `struct tcp_info` (its first byte is `tcpi_state`). */
export const TCP_INFO = 11
/** `tcpi_state` of a closed socket (after a reset, or TIME_WAIT gone). */
export const TCP_CLOSE = 7

// IPPROTO_IPV6 options
/** The IPv6 option level. */
export const IPPROTO_IPV6 = 41
/** Multicast hop limit. */
export const IPV6_MULTICAST_HOPS = 18
/** Multicast loopback. */
export const IPV6_MULTICAST_LOOP = 19
/** Join a multicast group. */
export const IPV6_JOIN_GROUP = 20
/** Leave a multicast group. */
export const IPV6_LEAVE_GROUP = 21
/** IPv6 only (no v4-mapped IPv4 peers). */
export const IPV6_V6ONLY = 26
