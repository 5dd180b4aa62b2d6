/**
 * Pins every number in `abi.ts` to the kernel ABI — not by restating it, but
 * by compiling a small C program against the system's `<linux/io_uring.h>`
 * at test time and comparing what `offsetof`/`sizeof`/the constants say.
 *
 * The installed header may be older than the running kernel (Debian 12 ships
 * the 6.1 uapi headers). Names it lacks are allowed only when they are listed
 * in {@link NEWER_THAN_HEADER} with the kernel that added them; those are
 * compared with the upstream value recorded there instead.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import * as abi from './abi.js'
import { hasTool } from '../../../../test/helpers/tools.js'

const HEADER = '/usr/include/linux/io_uring.h'


const skipReason = !existsSync(HEADER)
  ? `${HEADER} missing (Debian: apt-get install linux-libc-dev)`
  : !hasTool('gcc')
    ? 'gcc missing (Debian: apt-get install gcc)'
    : ''

/**
 * One pin: the abi.ts key (`NAME` or `STRUCT.field`) and the C expression(s)
 * that must equal it. An array of alternatives is for a field the kernel
 * renamed: the first one the header knows is used.
 */
type Pin = readonly [key: string, c: string | readonly string[]]

const off = (s: string, f: string): string => `offsetof(struct ${s}, ${f})`
const size = (s: string): string => `sizeof(struct ${s})`
const width = (s: string, f: string): string => `sizeof(((struct ${s} *)0)->${f})`

/** Struct layouts: every field of every layout object in abi.ts, plus the union members that share its slot. */
const STRUCT_PINS: readonly Pin[] = [
  ['SQE.SIZE', size('io_uring_sqe')],
  ['SQE.opcode', off('io_uring_sqe', 'opcode')],
  ['SQE.flags', off('io_uring_sqe', 'flags')],
  ['SQE.ioprio', off('io_uring_sqe', 'ioprio')],
  ['SQE.fd', off('io_uring_sqe', 'fd')],
  ['SQE.off', off('io_uring_sqe', 'off')],
  ['SQE.off', off('io_uring_sqe', 'addr2')],
  ['SQE.off', off('io_uring_sqe', 'cmd_op')],
  ['SQE.addr', off('io_uring_sqe', 'addr')],
  ['SQE.addr', off('io_uring_sqe', 'splice_off_in')],
  ['SQE.len', off('io_uring_sqe', 'len')],
  // op_flags is the kernel's anonymous union of per-op flag words: every member prep.ts writes through it.
  ['SQE.op_flags', off('io_uring_sqe', 'rw_flags')],
  ['SQE.op_flags', off('io_uring_sqe', 'fsync_flags')],
  ['SQE.op_flags', off('io_uring_sqe', 'poll32_events')],
  ['SQE.op_flags', off('io_uring_sqe', 'msg_flags')],
  ['SQE.op_flags', off('io_uring_sqe', 'timeout_flags')],
  ['SQE.op_flags', off('io_uring_sqe', 'accept_flags')],
  ['SQE.op_flags', off('io_uring_sqe', 'cancel_flags')],
  ['SQE.op_flags', off('io_uring_sqe', 'open_flags')],
  ['SQE.op_flags', off('io_uring_sqe', 'statx_flags')],
  ['SQE.user_data', off('io_uring_sqe', 'user_data')],
  ['SQE.buf_index', off('io_uring_sqe', 'buf_index')],
  ['SQE.buf_index', off('io_uring_sqe', 'buf_group')],
  ['SQE.personality', off('io_uring_sqe', 'personality')],
  ['SQE.file_index', off('io_uring_sqe', 'file_index')],
  ['SQE.file_index', off('io_uring_sqe', 'splice_fd_in')],
  ['SQE.file_index', off('io_uring_sqe', 'addr_len')],
  ['SQE.addr3', off('io_uring_sqe', 'addr3')],
  ['SQE.__pad2', off('io_uring_sqe', '__pad2')],

  ['CQE.SIZE', size('io_uring_cqe')],
  ['CQE.user_data', off('io_uring_cqe', 'user_data')],
  ['CQE.res', off('io_uring_cqe', 'res')],
  ['CQE.flags', off('io_uring_cqe', 'flags')],

  ['SQ_OFF.SIZE', size('io_sqring_offsets')],
  ['SQ_OFF.head', off('io_sqring_offsets', 'head')],
  ['SQ_OFF.tail', off('io_sqring_offsets', 'tail')],
  ['SQ_OFF.ring_mask', off('io_sqring_offsets', 'ring_mask')],
  ['SQ_OFF.ring_entries', off('io_sqring_offsets', 'ring_entries')],
  ['SQ_OFF.flags', off('io_sqring_offsets', 'flags')],
  ['SQ_OFF.dropped', off('io_sqring_offsets', 'dropped')],
  ['SQ_OFF.array', off('io_sqring_offsets', 'array')],
  ['SQ_OFF.resv1', off('io_sqring_offsets', 'resv1')],
  // 6.5 renamed resv2 to user_addr (IORING_SETUP_NO_MMAP): same slot.
  ['SQ_OFF.user_addr', [off('io_sqring_offsets', 'user_addr'), off('io_sqring_offsets', 'resv2')]],

  ['CQ_OFF.SIZE', size('io_cqring_offsets')],
  ['CQ_OFF.head', off('io_cqring_offsets', 'head')],
  ['CQ_OFF.tail', off('io_cqring_offsets', 'tail')],
  ['CQ_OFF.ring_mask', off('io_cqring_offsets', 'ring_mask')],
  ['CQ_OFF.ring_entries', off('io_cqring_offsets', 'ring_entries')],
  ['CQ_OFF.overflow', off('io_cqring_offsets', 'overflow')],
  ['CQ_OFF.cqes', off('io_cqring_offsets', 'cqes')],
  ['CQ_OFF.flags', off('io_cqring_offsets', 'flags')],
  ['CQ_OFF.resv1', off('io_cqring_offsets', 'resv1')],
  ['CQ_OFF.user_addr', [off('io_cqring_offsets', 'user_addr'), off('io_cqring_offsets', 'resv2')]],

  ['PARAMS.SIZE', size('io_uring_params')],
  ['PARAMS.sq_entries', off('io_uring_params', 'sq_entries')],
  ['PARAMS.cq_entries', off('io_uring_params', 'cq_entries')],
  ['PARAMS.flags', off('io_uring_params', 'flags')],
  ['PARAMS.sq_thread_cpu', off('io_uring_params', 'sq_thread_cpu')],
  ['PARAMS.sq_thread_idle', off('io_uring_params', 'sq_thread_idle')],
  ['PARAMS.features', off('io_uring_params', 'features')],
  ['PARAMS.wq_fd', off('io_uring_params', 'wq_fd')],
  ['PARAMS.resv', off('io_uring_params', 'resv')],
  ['PARAMS.sq_off', off('io_uring_params', 'sq_off')],
  ['PARAMS.cq_off', off('io_uring_params', 'cq_off')],

  ['PROBE.SIZE', size('io_uring_probe')],
  ['PROBE.SIZE', off('io_uring_probe', 'ops')],
  ['PROBE.last_op', off('io_uring_probe', 'last_op')],
  ['PROBE.ops_len', off('io_uring_probe', 'ops_len')],
  ['PROBE.OP_SIZE', size('io_uring_probe_op')],
  ['PROBE.op_op', off('io_uring_probe_op', 'op')],
  ['PROBE.op_flags', off('io_uring_probe_op', 'flags')],

  ['BUF_REG.SIZE', size('io_uring_buf_reg')],
  ['BUF_REG.ring_addr', off('io_uring_buf_reg', 'ring_addr')],
  ['BUF_REG.ring_entries', off('io_uring_buf_reg', 'ring_entries')],
  ['BUF_REG.bgid', off('io_uring_buf_reg', 'bgid')],
  // 6.1 calls this u16 `pad`; later kernels made it `flags` (IOU_PBUF_RING_MMAP, …).
  ['BUF_REG.flags', [off('io_uring_buf_reg', 'flags'), off('io_uring_buf_reg', 'pad')]],

  ['BUF.SIZE', size('io_uring_buf')],
  ['BUF.addr', off('io_uring_buf', 'addr')],
  ['BUF.len', off('io_uring_buf', 'len')],
  ['BUF.bid', off('io_uring_buf', 'bid')],
  ['BUF.resv', off('io_uring_buf', 'resv')],
  ['BUF_RING_TAIL', off('io_uring_buf_ring', 'tail')],

  ['RECVMSG_OUT.SIZE', size('io_uring_recvmsg_out')],
  ['RECVMSG_OUT.namelen', off('io_uring_recvmsg_out', 'namelen')],
  ['RECVMSG_OUT.controllen', off('io_uring_recvmsg_out', 'controllen')],
  ['RECVMSG_OUT.payloadlen', off('io_uring_recvmsg_out', 'payloadlen')],
  ['RECVMSG_OUT.flags', off('io_uring_recvmsg_out', 'flags')],

  ['STATX_SIZE', size('statx')],

  ['TIMESPEC.SIZE', size('__kernel_timespec')],
  ['TIMESPEC.tv_sec', off('__kernel_timespec', 'tv_sec')],
  ['TIMESPEC.tv_nsec', off('__kernel_timespec', 'tv_nsec')],
]

/** Top-level constants whose C name differs from the abi.ts export name. */
const RENAMED: Record<string, string> = {
  SYS_io_uring_setup: '__NR_io_uring_setup',
  SYS_io_uring_enter: '__NR_io_uring_enter',
  SYS_io_uring_register: '__NR_io_uring_register',
}

/**
 * Names newer than the installed header may lack, with the kernel that added
 * them and their upstream value (include/uapi/linux/io_uring.h). Only these
 * may be missing from the header; when the header has them, it wins.
 */
const NEWER_THAN_HEADER: Record<string, { since: string; value: number }> = {
  'Op.READ_MULTISHOT': { since: '6.7', value: 49 },
  'Op.FTRUNCATE': { since: '6.9', value: 55 },
  IORING_TIMEOUT_MULTISHOT: { since: '6.4', value: 1 << 6 },
}

/**
 * Widths of the SQE/CQE fields that `prep.ts` and the dispatcher access as
 * whole 8/16/32-bit words (e.g. `opcode | flags << 8 | ioprio << 16` as one
 * u32): if a width changed, those word writes would clobber a neighbour.
 */
const WIDTH_PINS: readonly [string, string, number][] = [
  ['io_uring_sqe', 'opcode', 1],
  ['io_uring_sqe', 'flags', 1],
  ['io_uring_sqe', 'ioprio', 2],
  ['io_uring_sqe', 'fd', 4],
  ['io_uring_sqe', 'off', 8],
  ['io_uring_sqe', 'addr', 8],
  ['io_uring_sqe', 'len', 4],
  ['io_uring_sqe', 'rw_flags', 4],
  ['io_uring_sqe', 'statx_flags', 4],
  ['io_uring_sqe', 'user_data', 8],
  ['io_uring_sqe', 'buf_group', 2],
  ['io_uring_sqe', 'personality', 2],
  ['io_uring_sqe', 'file_index', 4],
  ['io_uring_sqe', 'addr3', 8],
  ['io_uring_cqe', 'user_data', 8],
  ['io_uring_cqe', 'res', 4],
  ['io_uring_cqe', 'flags', 4],
  ['io_uring_buf', 'addr', 8],
  ['io_uring_buf', 'len', 4],
  ['io_uring_buf', 'bid', 2],
  ['io_uring_buf_ring', 'tail', 2],
  ['io_uring_buf_reg', 'ring_addr', 8],
  ['io_uring_buf_reg', 'ring_entries', 4],
  ['io_uring_buf_reg', 'bgid', 2],
  ['io_uring_probe_op', 'op', 1],
  ['io_uring_probe_op', 'flags', 2],
  ['io_uring_probe', 'ops_len', 1],
  ['io_uring_recvmsg_out', 'namelen', 4],
  ['io_uring_recvmsg_out', 'controllen', 4],
  ['io_uring_recvmsg_out', 'payloadlen', 4],
  ['io_uring_recvmsg_out', 'flags', 4],
]

/** Every number abi.ts exports, flattened: `NAME` for constants, `OBJ.field` for layout and opcode objects. */
function abiValues(): Map<string, number> {
  const out = new Map<string, number>()
  for (const [name, v] of Object.entries(abi)) {
    if (typeof v === 'number') out.set(name, v)
    else if (typeof v === 'object' && v !== null) {
      for (const [field, fv] of Object.entries(v)) if (typeof fv === 'number') out.set(`${name}.${field}`, fv)
    }
  }
  return out
}

/** All pins: the struct table, `Op.X` → `IORING_OP_X`, and every other constant under its own (or renamed) C name. */
function allPins(values: Map<string, number>): Pin[] {
  const pins: Pin[] = [...STRUCT_PINS]
  const inTable = new Set(STRUCT_PINS.map(([k]) => k))
  for (const key of values.keys()) {
    if (key.startsWith('Op.')) pins.push([key, `IORING_OP_${key.slice(3)}`])
    else if (!key.includes('.') && !inTable.has(key)) pins.push([key, RENAMED[key] ?? key])
  }
  for (const [s, f] of WIDTH_PINS) pins.push([`width:${s}.${f}`, width(s, f)])
  return pins
}

/**
 * Compiles and runs a C program printing each pin's value, one per line.
 * gcc reports an unknown name or member on the line that uses it: such a pin
 * moves to its next alternative, or becomes `null` (absent from this header),
 * and the program is rebuilt — so one run tells what the header has.
 */
function evaluate(pins: readonly Pin[], dir: string): (number | null)[] {
  const choice = pins.map(() => 0)
  const src = join(dir, 'abi.c')
  const exe = join(dir, 'abi')
  const FIRST_LINE = 10 // line number of the first pin's printf in the source below
  for (let pass = 0; pass < 8; pass++) {
    const lines = pins.map(([, c], i) => {
      const alts = typeof c === 'string' ? [c] : c
      const expr = alts[choice[i]!]
      return expr === undefined ? '  puts("null,");' : `  printf("%lld,\\n", (long long)(${expr}));`
    })
    writeFileSync(
      src,
      [
        '#include <stddef.h>',
        '#include <stdio.h>',
        '#include <asm/unistd.h>',
        '#include <linux/time_types.h>',
        '#include <linux/stat.h>',
        '#include <linux/io_uring.h>',
        '',
        'int main(void) {',
        '  puts("[");',
        ...lines,
        '  puts("0]");',
        '  return 0;',
        '}',
        '',
      ].join('\n'),
    )
    try {
      execFileSync('gcc', ['-std=gnu11', '-w', '-fmax-errors=0', '-o', exe, src], { stdio: 'pipe' })
    } catch (err) {
      const stderr = String((err as { stderr?: Buffer }).stderr ?? '')
      const bad = new Set<number>()
      for (const m of stderr.matchAll(/abi\.c:(\d+):\d+: error/g)) bad.add(Number(m[1]) - FIRST_LINE)
      const fixable = [...bad].filter((i) => i >= 0 && i < pins.length)
      if (fixable.length === 0) throw new Error(`gcc failed outside the pins:\n${stderr}`)
      for (const i of fixable) choice[i]!++
      continue
    }
    const out = JSON.parse(execFileSync(exe, { encoding: 'utf8' })) as (number | null)[]
    out.pop() // the trailing 0
    return out
  }
  throw new Error('the C program did not converge in 8 passes')
}

describe('uring ABI (abi.ts) against <linux/io_uring.h>', () => {
  const values = abiValues()
  const pins = allPins(values)
  let dir = ''
  afterAll(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true })
  })

  it('has a pin for every number abi.ts exports', () => {
    const pinned = new Set(pins.map(([k]) => k))
    const unpinned = [...values.keys()].filter((k) => !pinned.has(k))
    expect(unpinned).toEqual([])
    // And no pin names something abi.ts no longer has.
    const stale = [...pinned].filter((k) => !k.startsWith('width:') && !values.has(k))
    expect(stale).toEqual([])
  })

  it.skipIf(skipReason !== '')(`matches the C compiler's view of the header${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
    dir = mkdtempSync(join(tmpdir(), 'ringio-abi-'))
    const got = evaluate(pins, dir)
    const mismatches: string[] = []
    const missing: string[] = []
    pins.forEach(([key, c], i) => {
      const kernel = got[i]
      const expected = key.startsWith('width:') ? WIDTH_PINS.find(([s, f]) => `width:${s}.${f}` === key)![2] : values.get(key)!
      const cText = typeof c === 'string' ? c : c.join(' | ')
      if (kernel === null || kernel === undefined) {
        const newer = NEWER_THAN_HEADER[key]
        if (newer === undefined) mismatches.push(`${key}: not in ${HEADER} (${cText}) and not listed as newer than it`)
        else {
          missing.push(`${key} (kernel ${newer.since})`)
          if (newer.value !== expected) mismatches.push(`${key}: abi.ts ${expected}, upstream ${newer.value}`)
        }
      } else if (kernel !== expected) {
        mismatches.push(`${key}: abi.ts ${expected}, header ${kernel} (${cText})`)
      }
    })
    if (missing.length > 0) console.info(`abi.test: newer than the installed header, checked against upstream values: ${missing.join(', ')}`)
    expect(mismatches).toEqual([])
  })
})
