/**
 * Operations as data: the union of every op kind the proactor starts. Each
 * member is a plain object with a `kind` — matchable with ts-pattern, built
 * by a transport once and reused (the proactor only reads it), and defined
 * with its io_uring and poll forms in its own file beside this one.
 *
 * @packageDocumentation
 */
import type { AcceptOp } from './accept.js'
import type { CloseOp } from './close.js'
import type { ConnectOp } from './connect.js'
import type { FallocateOp } from './fallocate.js'
import type { FsyncOp } from './fsync.js'
import type { FtruncateOp } from './ftruncate.js'
import type { NopOp } from './nop.js'
import type { OpenatOp } from './openat.js'
import type { PollOp } from './poll.js'
import type { RawOp } from './raw.js'
import type { ReadOp } from './read.js'
import type { ReadvOp } from './readv.js'
import type { RecvOp } from './recv.js'
import type { RecvMultishotOp } from './recv-multishot.js'
import type { RecvmsgOp } from './recvmsg.js'
import type { RecvmsgMultishotOp } from './recvmsg-multishot.js'
import type { SendOp } from './send.js'
import type { SendmsgOp } from './sendmsg.js'
import type { ShutdownOp } from './shutdown.js'
import type { SpliceOp } from './splice.js'
import type { StatxOp } from './statx.js'
import type { TimeoutOp } from './timeout.js'
import type { WriteOp } from './write.js'
import type { WritevOp } from './writev.js'

export type {
  AcceptOp,
  CloseOp,
  ConnectOp,
  FallocateOp,
  FsyncOp,
  FtruncateOp,
  NopOp,
  OpenatOp,
  PollOp,
  RawOp,
  ReadOp,
  ReadvOp,
  RecvOp,
  RecvMultishotOp,
  RecvmsgOp,
  RecvmsgMultishotOp,
  SendOp,
  SendmsgOp,
  ShutdownOp,
  SpliceOp,
  StatxOp,
  TimeoutOp,
  WriteOp,
  WritevOp,
}

/**
 * An operation, as data. Start it with `Proactor.start(op, target)`.
 *
 * The object is lent to the proactor until the op's final completion, as its
 * buffers are: the proactor keeps it referenced (so the buffers it names stay
 * alive) and may read it again (the poll backend does, on each attempt), so
 * do not modify it before then. After the final completion it is the
 * caller's again: a transport keeps one per in-flight op and reuses it, so
 * starting an op allocates nothing.
 *
 * ## Example
 * ```ts
 * const op: ReadOp = { kind: 'read', fd, buf: Buffer.alloc(4096), offset: 0 }
 * getProactor().start(op, { complete: (res) => console.log(res) })
 * ```
 */
export type Op =
  | NopOp
  | TimeoutOp
  | ReadOp
  | WriteOp
  | ReadvOp
  | WritevOp
  | FsyncOp
  | OpenatOp
  | CloseOp
  | StatxOp
  | FallocateOp
  | FtruncateOp
  | AcceptOp
  | ConnectOp
  | RecvOp
  | RecvMultishotOp
  | RecvmsgMultishotOp
  | SendOp
  | SendmsgOp
  | RecvmsgOp
  | ShutdownOp
  | PollOp
  | SpliceOp
  | RawOp

/** The kind of an {@link Op}: what `Proactor.supports` takes. */
export type OpKind = Op['kind']
