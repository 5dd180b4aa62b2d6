/**
 * `connect`: `connect(fd, addr)` (IORING_OP_CONNECT).
 *
 * @packageDocumentation
 */
import { checkBytes } from '../errors.js'
import { DONE, WAIT } from '../poll/attempt.js'
import * as sys from '../poll/sys.js'
import { EAGAIN, EINTR } from '../sys/errno.js'
import { addressOf } from '../sys/libc.js'
import { Op } from '../uring/abi.js'
import { prepRw } from '../uring/prep.js'
import { PollRoute, type OpSpec } from './op-spec.js'

/** Connects socket `fd` to `addr`; completes with 0 or `-errno` (`ECONNREFUSED`, `ETIMEDOUT`…). */
export interface ConnectOp {
  /** The op kind. */
  readonly kind: 'connect'
  /** The socket. */
  fd: number
  /** A `sockaddr` of the right length. */
  addr: Uint8Array
}

const optVal = Buffer.alloc(4)
const optLen = Buffer.alloc(4)

/** The `connect` op kind. */
export const connectSpec: OpSpec<ConnectOp> = {
  kind: 'connect',
  opcode: Op.CONNECT,
  errorName: 'connect',
  check(op) {
    checkBytes('addr', op.addr)
  },
  uring(op, u, w) {
    // CONNECT reads the sockaddr from addr and its length from off (addr2).
    prepRw(u.sqe32, w, Op.CONNECT, op.fd, addressOf(op.addr), 0, op.addr.length)
    return op
  },
  poll: {
    route: PollRoute.Fd,
    dir: 'write',
    step(op, rec, sink) {
      if (rec.stage === 0) {
        const res = sys.result(sys.connect(op.fd, op.addr, op.addr.length))
        // EINPROGRESS: a non-blocking connect started; EAGAIN: a full unix-socket backlog; EINTR: it goes on in the kernel.
        if (res === -sys.EINPROGRESS || res === -EINTR) {
          rec.stage = 1
          return WAIT
        }
        if (res === -EAGAIN) return WAIT
        sink.finish(rec.slot, res, 0)
        return DONE
      }
      // Writable after EINPROGRESS: SO_ERROR holds the outcome (0 = connected).
      optLen.writeUInt32LE(4, 0)
      const r = sys.result(sys.getsockopt(op.fd, sys.SOL_SOCKET, sys.SO_ERROR, optVal, optLen))
      const soErr = optVal.readInt32LE(0)
      sink.finish(rec.slot, r < 0 ? r : soErr === 0 ? 0 : -soErr, 0) // never -0: callers compare with ===/Object.is
      return DONE
    },
    blocking(op, _rec, cb) {
      sys.connectAt.async(op.fd, addressOf(op.addr), op.addr.length, cb)
    },
  },
  handle: (op) => op.fd,
}
