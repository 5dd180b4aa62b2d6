/**
 * Every op kind's spec, by kind: the one table both backends look an op up
 * in. Adding an op kind is a file in `ops/` and a line here.
 *
 * @packageDocumentation
 */
import { acceptSpec } from './accept.js'
import { closeSpec } from './close.js'
import { connectSpec } from './connect.js'
import { fallocateSpec } from './fallocate.js'
import { fsyncSpec } from './fsync.js'
import { ftruncateSpec } from './ftruncate.js'
import { nopSpec } from './nop.js'
import type { Op, OpKind } from './op.js'
import type { OpSpec } from './op-spec.js'
import { openatSpec } from './openat.js'
import { pollSpec } from './poll.js'
import { rawSpec } from './raw.js'
import { readSpec } from './read.js'
import { readvSpec } from './readv.js'
import { recvSpec } from './recv.js'
import { recvMultishotSpec } from './recv-multishot.js'
import { recvmsgSpec } from './recvmsg.js'
import { recvmsgMultishotSpec } from './recvmsg-multishot.js'
import { sendSpec } from './send.js'
import { sendmsgSpec } from './sendmsg.js'
import { shutdownSpec } from './shutdown.js'
import { spliceSpec } from './splice.js'
import { statxSpec } from './statx.js'
import { timeoutSpec } from './timeout.js'
import { writeSpec } from './write.js'
import { writevSpec } from './writev.js'

/** The spec of each kind; typed per kind, so a missing or mistyped entry fails to compile. */
const SPECS: { readonly [K in OpKind]: OpSpec<Extract<Op, { kind: K }>> } = {
  nop: nopSpec,
  timeout: timeoutSpec,
  read: readSpec,
  write: writeSpec,
  readv: readvSpec,
  writev: writevSpec,
  fsync: fsyncSpec,
  openat: openatSpec,
  close: closeSpec,
  statx: statxSpec,
  fallocate: fallocateSpec,
  ftruncate: ftruncateSpec,
  accept: acceptSpec,
  connect: connectSpec,
  recv: recvSpec,
  recvMultishot: recvMultishotSpec,
  recvmsgMultishot: recvmsgMultishotSpec,
  send: sendSpec,
  sendmsg: sendmsgSpec,
  recvmsg: recvmsgSpec,
  shutdown: shutdownSpec,
  poll: pollSpec,
  splice: spliceSpec,
  raw: rawSpec,
}

/** Every kind, in table order. */
export const OP_KINDS = Object.keys(SPECS) as readonly OpKind[]

/**
 * The spec of `op`'s kind, or a TypeError for something that is not an op
 * (checked here, once for both backends).
 */
export function specOf(op: Op): OpSpec<Op> {
  const spec = (op !== null && typeof op === 'object' ? SPECS[op.kind] : undefined) as OpSpec<Op> | undefined
  if (spec === undefined) {
    throw new TypeError(`not an operation: ${op !== null && typeof op === 'object' ? `kind ${String((op as { kind?: unknown }).kind)}` : String(op)}`)
  }
  return spec
}

/** The spec of a kind (for probing), or undefined. */
export function specOfKind(kind: string): OpSpec<Op> | undefined {
  return Object.hasOwn(SPECS, kind) ? (SPECS[kind as OpKind] as OpSpec<Op>) : undefined
}
