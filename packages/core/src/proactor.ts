/**
 * The Proactor contract: what both backends (io_uring in `uring/`, the
 * readiness reactor in `poll/`) implement, and what `net`, `fs` and `tty`
 * build on. Operations are *started* and their *completion* is delivered to a
 * {@link Completion} target on Node's own event-loop thread.
 *
 * Results follow the kernel's convention everywhere: `res >= 0` is success,
 * `res < 0` is `-errno`. Flags are `IORING_CQE_F_*` on both backends (the poll
 * backend synthesises them), so the layers above have one code path.
 *
 * @packageDocumentation
 */

/** The target of a completion: called once per completion event (several times for a multishot operation). */
export interface Completion {
  /**
   * Called on the JS thread for each completion event of the operation this
   * target was started with; it must not throw (an exception reaches
   * `process.on('uncaughtException')`, the loop goes on).
   *
   * @param res `>= 0` on success (bytes, fd, revents…), `-errno` on failure
   * @param flags `IORING_CQE_F_*`: `MORE` while a multishot operation goes on;
   *   `BUFFER` with the buffer id in the upper 16 bits for buffer-select reads
   */
  complete(res: number, flags: number): void
}

/** The id of a started operation, for {@link Proactor.cancel}. Ids are never reused while the operation lives. */
export type OpId = number

/** The name of a backend. */
export type BackendName = 'uring' | 'poll'

/** The operations a backend may or may not support, probed at start. */
export type OpName =
  | 'nop'
  | 'timeout'
  | 'cancel'
  | 'read'
  | 'write'
  | 'readv'
  | 'writev'
  | 'fsync'
  | 'openat'
  | 'close'
  | 'statx'
  | 'fallocate'
  | 'ftruncate'
  | 'accept'
  | 'connect'
  | 'recv'
  | 'recvMultishot'
  | 'recvmsgMultishot'
  | 'send'
  | 'sendZc'
  | 'sendmsg'
  | 'recvmsg'
  | 'shutdown'
  | 'poll'

/**
 * A shared pool of read buffers: `count` buffers of `size` bytes, from which
 * the backend picks one only when data arrives (an io_uring provided-buffer
 * ring, or its emulation). Ten thousand idle sockets cost no buffer.
 */
export interface BufferGroup {
  /** The group id (`bgid`). */
  readonly id: number
  /** Number of buffers. */
  readonly count: number
  /** Bytes per buffer. */
  readonly size: number
  /** Buffers currently in the pool (not lent out). */
  readonly available: number
  /** A no-copy view of the first `len` bytes of buffer `bid`; valid until {@link release}. */
  view(bid: number, len: number): Buffer
  /** Copies the first `len` bytes of buffer `bid` into `target` at `targetStart`. */
  copyOut(bid: number, len: number, target: Uint8Array, targetStart: number): void
  /** Gives buffer `bid` back to the pool. Each lent buffer is released exactly once. */
  release(bid: number): void
  /** Calls `fn` once, the next time a buffer is released (to re-arm reads that hit `ENOBUFS`). */
  onRelease(fn: () => void): void
  /** Unregisters the group and frees its memory. Buffers lent out must not be used afterwards. */
  close(): void
}

/** Options common to starting an operation. */
export interface StartOptions {
  /** When false, this pending operation does not keep the process alive (like `handle.unref()`). Default true. */
  ref?: boolean
  /**
   * Hint: skip the non-blocking first try and run the operation in the
   * kernel's worker threads (io_uring `IOSQE_ASYNC`). For a terminal, whose
   * write may block even when tried non-blocking — stalling the JS thread
   * inside `io_uring_enter` — the worker blocks instead. For a pipe it changes
   * nothing (measured on 6.18: the worker also tries non-blocking and
   * poll-arms). The poll backend ignores it.
   */
  async?: boolean
}

/**
 * The proactor: one per Node environment (main thread or Worker).
 *
 * Every `start*` method returns at once; the target's `complete` runs later on
 * the loop, never synchronously inside the call. Buffers passed in stay
 * referenced by the proactor until the final completion, so the caller need
 * not keep them alive — but must not modify them before then.
 */
export interface Proactor {
  /** Which backend this is. */
  readonly backend: BackendName
  /** True once {@link close} ran. Starting an operation then throws. */
  readonly closed: boolean
  /** Operations started and not finally completed. */
  readonly pending: number
  /** Whether the running kernel / backend supports `op`. */
  supports(op: OpName): boolean

  /** A no-op round trip. */
  nop(c: Completion, opts?: StartOptions): OpId
  /** Completes with `-ETIME` after `ms` (repeatedly, with `MORE`, when `repeat`). */
  timeout(ms: number, repeat: boolean, c: Completion, opts?: StartOptions): OpId
  /**
   * Asks the kernel to cancel `id`. Asynchronous: the operation's own target
   * then completes with `-ECANCELED`, or with its real result if it won the race.
   * Unknown or finished ids are ignored.
   */
  cancel(id: OpId): void

  /** `pread(fd, buf, buf.length, offset)`; `offset` -1 reads at the file's position (pipes, sockets, TTYs). */
  read(fd: number, buf: Uint8Array, offset: number, c: Completion, opts?: StartOptions): OpId
  /** `pwrite(fd, buf, buf.length, offset)`; `offset` -1 writes at the file's position. */
  write(fd: number, buf: Uint8Array, offset: number, c: Completion, opts?: StartOptions): OpId
  /** `preadv` into several buffers. */
  readv(fd: number, bufs: readonly Uint8Array[], offset: number, c: Completion, opts?: StartOptions): OpId
  /** `pwritev` from several buffers. */
  writev(fd: number, bufs: readonly Uint8Array[], offset: number, c: Completion, opts?: StartOptions): OpId
  /** `fsync`/`fdatasync`. */
  fsync(fd: number, datasync: boolean, c: Completion, opts?: StartOptions): OpId
  /** `openat(dirfd, path, flags, mode)`; `path` is NUL-terminated. Completes with the new fd. */
  openat(dirfd: number, path: Uint8Array, flags: number, mode: number, c: Completion, opts?: StartOptions): OpId
  /** `close(fd)`. */
  close(fd: number, c: Completion, opts?: StartOptions): OpId
  /**
   * `statx(dirfd, path, flags, mask, buf)`: the metadata of `path` (relative
   * to `dirfd`; `AT_FDCWD` for the cwd), or of `dirfd` itself with an empty
   * path and `AT_EMPTY_PATH` in `flags`. `path` is NUL-terminated; `buf`
   * (at least 256 bytes) receives a `struct statx`, and is written only
   * until the completion. `mask` is `STATX_*`: what to fill (the kernel may
   * fill more; `stx_mask` says what it did). Completes with 0 or `-errno`
   * (`ENOENT`, `ENOTDIR`, `EBADF`…).
   */
  statx(dirfd: number, path: Uint8Array, flags: number, mask: number, buf: Uint8Array, c: Completion, opts?: StartOptions): OpId
  /**
   * `fallocate(fd, mode, offset, len)`: reserves (or, with `FALLOC_FL_*`
   * modes, punches, zeroes…) the range `[offset, offset + len)`. Mode 0
   * grows the size to cover the range; `FALLOC_FL_KEEP_SIZE` (1) does not.
   * Completes with 0 or `-errno` (`EOPNOTSUPP` where the file system cannot,
   * `ENOSPC`, `EBADF`, `EINVAL` for a zero length…).
   */
  fallocate(fd: number, mode: number, offset: number, len: number, c: Completion, opts?: StartOptions): OpId
  /**
   * `ftruncate(fd, length)`: cuts the file to `length` bytes, or extends it
   * with zeros. Completes with 0 or `-errno` (`EINVAL` when `fd` is not open
   * for writing, `EBADF`, `EFBIG`…). On io_uring this is IORING_OP_FTRUNCATE,
   * new in Linux 6.9: where `supports('ftruncate')` is false the kernel
   * rejects the SQE with `-EINVAL`, so check first and use a threadpool
   * `ftruncate(2)` instead.
   */
  ftruncate(fd: number, length: number, c: Completion, opts?: StartOptions): OpId

  /**
   * Creates a socket owned by ringio, with the blocking mode this backend needs
   * (blocking for io_uring, so the kernel arms its own poll; non-blocking for the
   * reactor). Synchronous; returns the fd or throws `IoError`.
   */
  socket(domain: number, type: number, protocol: number): number
  /** `accept4`; multishot keeps accepting (completions carry `MORE`). Completes with the new fd. */
  accept(fd: number, multishot: boolean, c: Completion, opts?: StartOptions): OpId
  /** `connect(fd, addr)`; `addr` is a `sockaddr` of the right length. */
  connect(fd: number, addr: Uint8Array, c: Completion, opts?: StartOptions): OpId
  /** `recv(fd, buf, flags)` into a caller's buffer. */
  recv(fd: number, buf: Uint8Array, flags: number, c: Completion, opts?: StartOptions): OpId
  /**
   * Multishot receive into buffers picked from `group` as data arrives. Each
   * completion carries `BUFFER` and the buffer id; `res` 0 is EOF. `-ENOBUFS`
   * (no `MORE`) means the group ran dry: nothing was lost, re-arm after a release.
   * A backend may end the receive after any completion (no `MORE`), and
   * callers re-arm: io_uring issues it single-shot for a kernel bug that
   * loses a multishot receive's wakeup (see `UringProactor.recvMultishot`).
   */
  recvMultishot(fd: number, group: BufferGroup, c: Completion, opts?: StartOptions): OpId
  /**
   * Multishot `recvmsg` into buffers picked from `group` as messages arrive:
   * one completion per message, carrying `BUFFER` and the buffer id; `res`
   * is the bytes used in the buffer. Each buffer holds a
   * `struct io_uring_recvmsg_out` (16 bytes), then `msg_namelen` bytes of
   * room for the source address, `msg_controllen` bytes for control data,
   * then the payload, cut to what is left of the buffer: decode it with
   * `parseRecvmsgOut`.
   *
   * `msg` is a `struct msghdr` whose only meaningful fields are
   * `msg_namelen` and `msg_controllen` (the room to reserve; pointers 0,
   * `msg_iovlen` 0); it must stay unmodified until the final completion (the
   * proactor keeps it referenced). `flags` are recvmsg flags: with
   * `MSG_TRUNC` the header's `payloadlen` is the message's real length.
   *
   * The receive ends (no `MORE`) on an error, on `-ENOBUFS` (the group ran
   * dry: nothing was lost, re-arm after a release), and — as the kernel
   * does — after a message whose payload is empty (a 0-byte datagram, or
   * EOF on a connection-oriented socket): re-arm to go on.
   */
  recvmsgMultishot(fd: number, msg: Uint8Array, flags: number, group: BufferGroup, c: Completion, opts?: StartOptions): OpId
  /** `send(fd, buf, flags)`. May complete short: the caller resumes from the byte after. */
  send(fd: number, buf: Uint8Array, flags: number, c: Completion, opts?: StartOptions): OpId
  /**
   * Zero-copy send (IORING_OP_SEND_ZC) where `supports('sendZc')`: the first
   * completion carries the bytes sent and `MORE`; a last one with
   * `IORING_CQE_F_NOTIF` (res 0) comes once the kernel no longer reads `buf`.
   * Where the kernel lacks it, this is a plain send with one completion.
   */
  sendZc(fd: number, buf: Uint8Array, flags: number, c: Completion, opts?: StartOptions): OpId
  /** `sendmsg(fd, msg, flags)`; `msg` is a `struct msghdr` whose pointers the caller keeps valid (`keep`). */
  sendmsg(fd: number, msg: Uint8Array, flags: number, keep: unknown, c: Completion, opts?: StartOptions): OpId
  /** `recvmsg(fd, msg, flags)`; as {@link sendmsg}. */
  recvmsg(fd: number, msg: Uint8Array, flags: number, keep: unknown, c: Completion, opts?: StartOptions): OpId
  /** `shutdown(fd, how)`. */
  shutdown(fd: number, how: number, c: Completion, opts?: StartOptions): OpId
  /** Readiness of `fd` (`POLLIN`…), once or repeatedly (`MORE`). Completes with the revents mask. */
  poll(fd: number, events: number, multishot: boolean, c: Completion, opts?: StartOptions): OpId

  /**
   * Runs `task` just before the next batch of SQEs goes to the kernel: at the
   * end of the completion dispatch in progress, or in this turn's microtask
   * flush. Lets a write queue coalesce every write of a turn into one
   * operation and still ride in the same `io_uring_enter`.
   */
  beforeSubmit(task: () => void): void

  /** A new shared read-buffer pool of `count` buffers (a power of two) of `size` bytes. */
  bufferGroup(count: number, size: number): BufferGroup

  /**
   * Closes the backend: pending operations are cancelled (their targets see
   * `-ECANCELED`), every fd and mapping it owns is released. Idempotent.
   */
  close(): void
}
