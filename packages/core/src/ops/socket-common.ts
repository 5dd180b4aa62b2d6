/**
 * What recv and send, recvmsg and sendmsg share: one spec shape each, filled
 * with the opcode and syscall of one direction. On the poll backend they
 * always take the reactor, with `MSG_DONTWAIT` per call: non-blocking for
 * that call even on a blocking socket ringio did not create, with no F_SETFL.
 * The data interfaces stay in their own files.
 *
 * @packageDocumentation
 */
import { checkBytes } from '../errors.js'
import { settle } from '../poll/attempt.js'
import * as sys from '../poll/sys.js'
import { addressOf } from '../sys/libc.js'
import { prepRw, setOpFlags } from '../uring/prep.js'
import { PollRoute, type OpSpec } from './op-spec.js'

/** The spec of `recv` or `send`: a buffer and `MSG_*` flags. */
export function socketBufSpec<O extends { readonly kind: 'recv' | 'send'; fd: number; buf: Uint8Array; flags: number }>(
  kind: O['kind'],
  opcode: number,
  call: (fd: number, buf: Uint8Array, len: number, flags: number) => number,
): OpSpec<O> {
  return {
    kind,
    opcode,
    errorName: kind,
    check(op) {
      checkBytes('buf', op.buf)
    },
    uring(op, u, w) {
      prepRw(u.sqe32, w, opcode, op.fd, addressOf(op.buf), op.buf.length, 0)
      setOpFlags(u.sqe32, w, op.flags)
      return op
    },
    poll: {
      route: PollRoute.Socket,
      dir: kind === 'recv' ? 'read' : 'write',
      step(op, rec, sink) {
        // A caller's own MSG_DONTWAIT asks for EAGAIN now, as io_uring gives it, not a wait.
        const res = sys.result(call(op.fd, op.buf, op.buf.length, op.flags | sys.MSG_DONTWAIT))
        return settle(rec.slot, sink, res, (op.flags & sys.MSG_DONTWAIT) !== 0)
      },
    },
    handle: (op) => op.fd,
  }
}

/** The spec of `recvmsg` or `sendmsg`: a `struct msghdr`, `MSG_*` flags, and what its pointers point into. */
export function socketMsgSpec<O extends { readonly kind: 'recvmsg' | 'sendmsg'; fd: number; msg: Uint8Array; flags: number; keep: unknown }>(
  kind: O['kind'],
  opcode: number,
  call: (fd: number, msg: Uint8Array, flags: number) => number,
): OpSpec<O> {
  return {
    kind,
    opcode,
    errorName: kind,
    check(op) {
      checkBytes('msg', op.msg)
    },
    uring(op, u, w) {
      prepRw(u.sqe32, w, opcode, op.fd, addressOf(op.msg), 1, 0)
      setOpFlags(u.sqe32, w, op.flags)
      return op
    },
    poll: {
      route: PollRoute.Socket,
      dir: kind === 'recvmsg' ? 'read' : 'write',
      step(op, rec, sink) {
        const res = sys.result(call(op.fd, op.msg, op.flags | sys.MSG_DONTWAIT))
        return settle(rec.slot, sink, res, (op.flags & sys.MSG_DONTWAIT) !== 0)
      },
    },
    handle: (op) => op.fd,
  }
}
