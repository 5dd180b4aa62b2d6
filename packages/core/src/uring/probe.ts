import { IORING_REGISTER_PROBE, IO_URING_OP_SUPPORTED, PROBE } from './abi.js'
import type { Ring } from './ring.js'

const MAX_OPS = 256

/**
 * Which opcodes the running kernel supports (IORING_REGISTER_PROBE). Returns
 * a bitmap indexed by opcode: `supported[op] === 1`.
 */
export function probeOps(ring: Ring): Uint8Array {
  const buf = Buffer.alloc(PROBE.SIZE + MAX_OPS * PROBE.OP_SIZE)
  ring.register(IORING_REGISTER_PROBE, buf, MAX_OPS, 'register_probe')
  const supported = new Uint8Array(MAX_OPS)
  const n = buf[PROBE.ops_len]!
  for (let i = 0; i < n; i++) {
    const at = PROBE.SIZE + i * PROBE.OP_SIZE
    if ((buf.readUInt16LE(at + PROBE.op_flags) & IO_URING_OP_SUPPORTED) !== 0) supported[buf[at + PROBE.op_op]!] = 1
  }
  return supported
}
