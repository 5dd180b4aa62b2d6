/**
 * An op's failure as an `IoError`: named after the op and its handle, by the
 * op's own spec — one mapping for every transport.
 *
 * @packageDocumentation
 */
import { IoError } from '../errors.js'
import type { Op } from './op.js'
import { specOf } from './specs.js'

/**
 * The `IoError` of `op` completing with `res` (`-errno`): errno name, the op's
 * name (`read`, `connect`…) and its handle (the fd, or the path).
 *
 * ## Example
 * ```ts
 * const op: ConnectOp = { kind: 'connect', fd, addr }
 * p.start(op, { complete: (res) => { if (res < 0) reject(opError(op, res)) } })
 * ```
 */
export function opError(op: Op, res: number): IoError {
  const spec = specOf(op)
  return new IoError(-res, spec.errorName, spec.handle(op))
}
