/**
 * The io_uring kernel ABI, in one place: constants and structure layouts from
 * `include/uapi/linux/io_uring.h`, under the kernel's own field names.
 *
 * Every offset here is pinned by `abi.test.ts`; nothing else in ringio hard-codes
 * a layout. Ring pointers are never derived from these sizes alone: the SQ/CQ
 * ring offsets come from the `sq_off`/`cq_off` the kernel writes into the params.
 *
 * @packageDocumentation
 */

/** Syscall numbers (x86-64 and aarch64 share the io_uring ones). */
export const SYS_io_uring_setup = 425
/** @see SYS_io_uring_setup */
export const SYS_io_uring_enter = 426
/** @see SYS_io_uring_setup */
export const SYS_io_uring_register = 427

/** `struct io_uring_sqe`: 64 bytes. Byte offsets of its fields. */
export const SQE = {
  /** The size of an SQE in bytes. */
  SIZE: 64,
  /** Byte offset of `opcode`: __u8 */
  opcode: 0,
  /** Byte offset of `flags`: __u8 IOSQE_* */
  flags: 1,
  /** Byte offset of `ioprio`: __u16 (also accept/recv/send flags) */
  ioprio: 2,
  /** Byte offset of `fd`: __s32 */
  fd: 4,
  /** Byte offset of `off`: __u64 (union addr2, cmd_op) */
  off: 8,
  /** Byte offset of `addr`: __u64 (union splice_off_in) */
  addr: 16,
  /** Byte offset of `len`: __u32 */
  len: 24,
  /** Byte offset of `op_flags`: __u32 union: rw_flags, msg_flags, timeout_flags, accept_flags, cancel_flags, open_flags, poll32_events, ... */
  op_flags: 28,
  /** Byte offset of `user_data`: __u64 */
  user_data: 32,
  /** Byte offset of `buf_index`: __u16 (union buf_group) */
  buf_index: 40,
  /** Byte offset of `personality`: __u16 */
  personality: 42,
  /** Byte offset of `file_index`: __s32 (union splice_fd_in, addr_len) */
  file_index: 44,
  /** Byte offset of `addr3`: __u64 */
  addr3: 48,
  /** Byte offset of `__pad2`: __u64[1] */
  __pad2: 56,
} as const

/** `struct io_uring_cqe` (without CQE32): 16 bytes. */
export const CQE = {
  SIZE: 16,
  user_data: 0, // __u64
  res: 8, // __s32
  flags: 12, // __u32 IORING_CQE_F_*
} as const

/** `struct io_sqring_offsets`: 40 bytes, at `io_uring_params.sq_off`. */
export const SQ_OFF = { head: 0, tail: 4, ring_mask: 8, ring_entries: 12, flags: 16, dropped: 20, array: 24, resv1: 28, user_addr: 32, SIZE: 40 } as const
/** `struct io_cqring_offsets`: 40 bytes, at `io_uring_params.cq_off`. */
export const CQ_OFF = { head: 0, tail: 4, ring_mask: 8, ring_entries: 12, overflow: 16, cqes: 20, flags: 24, resv1: 28, user_addr: 32, SIZE: 40 } as const

/** `struct io_uring_params`: 120 bytes. */
export const PARAMS = {
  SIZE: 120,
  sq_entries: 0,
  cq_entries: 4,
  flags: 8,
  sq_thread_cpu: 12,
  sq_thread_idle: 16,
  features: 20,
  wq_fd: 24,
  resv: 28, // __u32[3]
  sq_off: 40,
  cq_off: 80,
} as const

/** `struct io_uring_probe` header (16 bytes) followed by `struct io_uring_probe_op` (8 bytes each). */
export const PROBE = { SIZE: 16, last_op: 0, ops_len: 1, OP_SIZE: 8, op_op: 0, op_flags: 2 } as const
/** `IO_URING_OP_SUPPORTED`: set in `io_uring_probe_op.flags` when the opcode is supported. */
export const IO_URING_OP_SUPPORTED = 1

/** `struct io_uring_buf_reg` (40 bytes): argument of IORING_REGISTER_PBUF_RING. */
export const BUF_REG = { SIZE: 40, ring_addr: 0, ring_entries: 8, bgid: 12, flags: 14 } as const
/** `struct io_uring_buf` (16 bytes): one entry of a provided-buffer ring. `resv` of entry 0 is the ring's `tail`. */
export const BUF = { SIZE: 16, addr: 0, len: 8, bid: 12, resv: 14 } as const
/** Byte offset of `io_uring_buf_ring.tail` (a __u16 overlaying `bufs[0].resv`). */
export const BUF_RING_TAIL = 14

/**
 * `struct io_uring_recvmsg_out` (16 bytes): the head of each buffer a
 * multishot RECVMSG fills. After it come `msg_namelen` bytes reserved for the
 * source address, `msg_controllen` bytes for control data, then the payload
 * (all sizes from the msghdr given at submission). `namelen`/`controllen` are
 * what the kernel wrote (`namelen` may exceed the room: the address was cut);
 * `payloadlen` is the message's length as `recvmsg` returned it (its real
 * length with MSG_TRUNC in the flags, even when the buffer held less);
 * `flags` is the `msg_flags` of that recvmsg.
 */
export const RECVMSG_OUT = {
  /** The size of the header in bytes. */
  SIZE: 16,
  /** Offset of `u32 namelen`. */
  namelen: 0,
  /** Offset of `u32 controllen`. */
  controllen: 4,
  /** Offset of `u32 payloadlen`. */
  payloadlen: 8,
  /** Offset of `u32 flags`. */
  flags: 12,
} as const

/**
 * `sizeof(struct statx)` (include/uapi/linux/stat.h): what IORING_OP_STATX
 * writes at `sqe.off` (the `statxbuf` address). Not an io_uring structure, but
 * the size a statx buffer must have before its address goes into an SQE.
 */
export const STATX_SIZE = 256

/** `struct __kernel_timespec`: 16 bytes (tv_sec __s64, tv_nsec long long). */
export const TIMESPEC = { SIZE: 16, tv_sec: 0, tv_nsec: 8 } as const

/** mmap offsets (`IORING_OFF_*`). */
export const IORING_OFF_SQ_RING = 0
/** @see IORING_OFF_SQ_RING */
export const IORING_OFF_CQ_RING = 0x8000000
/** @see IORING_OFF_SQ_RING */
export const IORING_OFF_SQES = 0x10000000

/** `enum io_uring_op`: the opcodes ringio uses (a prefix of the kernel's enum, same values). */
export const Op = {
  NOP: 0,
  READV: 1,
  WRITEV: 2,
  FSYNC: 3,
  POLL_ADD: 6,
  POLL_REMOVE: 7,
  SENDMSG: 9,
  RECVMSG: 10,
  TIMEOUT: 11,
  TIMEOUT_REMOVE: 12,
  ACCEPT: 13,
  ASYNC_CANCEL: 14,
  LINK_TIMEOUT: 15,
  CONNECT: 16,
  FALLOCATE: 17,
  OPENAT: 18,
  CLOSE: 19,
  STATX: 21,
  READ: 22,
  WRITE: 23,
  SEND: 26,
  RECV: 27,
  SPLICE: 30,
  SHUTDOWN: 34,
  SOCKET: 45,
  SEND_ZC: 47,
  SENDMSG_ZC: 48,
  READ_MULTISHOT: 49,
  FTRUNCATE: 55,
} as const
/** An io_uring opcode number. */
export type OpCode = (typeof Op)[keyof typeof Op]

/** `IOSQE_*` SQE flags. */
export const IOSQE_FIXED_FILE = 1 << 0
/** @see IOSQE_FIXED_FILE */
export const IOSQE_IO_DRAIN = 1 << 1
/** @see IOSQE_FIXED_FILE */
export const IOSQE_IO_LINK = 1 << 2
/** @see IOSQE_FIXED_FILE */
export const IOSQE_IO_HARDLINK = 1 << 3
/** @see IOSQE_FIXED_FILE */
export const IOSQE_ASYNC = 1 << 4
/** @see IOSQE_FIXED_FILE */
export const IOSQE_BUFFER_SELECT = 1 << 5
/** @see IOSQE_FIXED_FILE */
export const IOSQE_CQE_SKIP_SUCCESS = 1 << 6

/** `IORING_SETUP_*` flags. */
export const IORING_SETUP_CQSIZE = 1 << 3
/** @see IORING_SETUP_CQSIZE */
export const IORING_SETUP_CLAMP = 1 << 4
/** @see IORING_SETUP_CQSIZE */
export const IORING_SETUP_SUBMIT_ALL = 1 << 7
/** @see IORING_SETUP_CQSIZE */
export const IORING_SETUP_COOP_TASKRUN = 1 << 8
/** @see IORING_SETUP_CQSIZE */
export const IORING_SETUP_SINGLE_ISSUER = 1 << 12
/** @see IORING_SETUP_CQSIZE */
export const IORING_SETUP_DEFER_TASKRUN = 1 << 13

/** `IORING_FEAT_*` features reported in `io_uring_params.features`. */
export const IORING_FEAT_SINGLE_MMAP = 1 << 0
/** @see IORING_FEAT_SINGLE_MMAP */
export const IORING_FEAT_NODROP = 1 << 1
/** @see IORING_FEAT_SINGLE_MMAP */
export const IORING_FEAT_SUBMIT_STABLE = 1 << 2
/** @see IORING_FEAT_SINGLE_MMAP */
export const IORING_FEAT_FAST_POLL = 1 << 5
/** @see IORING_FEAT_SINGLE_MMAP */
export const IORING_FEAT_CQE_SKIP = 1 << 11

/** `IORING_SQ_*` flags, in the SQ ring's `flags` word: the CQ overflowed (completions wait in the kernel's backlog). */
export const IORING_SQ_CQ_OVERFLOW = 1 << 1

/** `IORING_ENTER_*` flags. */
export const IORING_ENTER_GETEVENTS = 1 << 0

/** `IORING_REGISTER_*` opcodes. */
export const IORING_REGISTER_EVENTFD = 4
/** @see IORING_REGISTER_EVENTFD */
export const IORING_UNREGISTER_EVENTFD = 5
/** @see IORING_REGISTER_EVENTFD */
export const IORING_REGISTER_PROBE = 8
/** @see IORING_REGISTER_EVENTFD */
export const IORING_REGISTER_PBUF_RING = 22
/** @see IORING_REGISTER_EVENTFD */
export const IORING_UNREGISTER_PBUF_RING = 23

/** `IORING_CQE_F_*` CQE flags. */
export const IORING_CQE_F_BUFFER = 1 << 0
/** @see IORING_CQE_F_BUFFER */
export const IORING_CQE_F_MORE = 1 << 1
/** @see IORING_CQE_F_BUFFER */
export const IORING_CQE_F_SOCK_NONEMPTY = 1 << 2
/** @see IORING_CQE_F_BUFFER */
export const IORING_CQE_F_NOTIF = 1 << 3
/** The buffer id sits in the upper 16 bits of `cqe.flags`. */
export const IORING_CQE_BUFFER_SHIFT = 16

/** `IORING_POLL_*` flags, carried in `sqe.len` for POLL_ADD. */
export const IORING_POLL_ADD_MULTI = 1 << 0
/** `IORING_ACCEPT_MULTISHOT`, carried in `sqe.ioprio`. */
export const IORING_ACCEPT_MULTISHOT = 1 << 0
/** `IORING_RECV_MULTISHOT`, carried in `sqe.ioprio` for RECV and RECVMSG. */
export const IORING_RECV_MULTISHOT = 1 << 1
/** `IORING_RECVSEND_POLL_FIRST`, carried in `sqe.ioprio`. */
export const IORING_RECVSEND_POLL_FIRST = 1 << 0
/** `IORING_TIMEOUT_*` flags, in `sqe.timeout_flags`. */
export const IORING_TIMEOUT_MULTISHOT = 1 << 6
/** `IORING_FSYNC_DATASYNC`, in `sqe.fsync_flags`: `fdatasync` rather than `fsync`. */
export const IORING_FSYNC_DATASYNC = 1 << 0
/** `IORING_ASYNC_CANCEL_*` flags, in `sqe.cancel_flags`. */
export const IORING_ASYNC_CANCEL_ALL = 1 << 0
/** @see IORING_ASYNC_CANCEL_ALL */
export const IORING_ASYNC_CANCEL_FD = 1 << 1
