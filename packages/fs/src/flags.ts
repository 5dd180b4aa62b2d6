/**
 * `open()` flags: Node-style strings (`'r'`, `'w+'`, `'ax'`…) or numeric
 * `open(2)` flags, turned into the kernel's flags and what the `File` may do.
 *
 * @packageDocumentation
 */

/** `open(2)` flag bits (Linux, x86-64 and arm64 alike for these). */
export const O = {
  RDONLY: 0,
  WRONLY: 1,
  RDWR: 2,
  ACCMODE: 3,
  CREAT: 0o100,
  EXCL: 0o200,
  NOCTTY: 0o400,
  TRUNC: 0o1000,
  APPEND: 0o2000,
  NONBLOCK: 0o4000,
  DSYNC: 0o10000,
  DIRECT: 0o40000,
  DIRECTORY: 0o200000,
  NOFOLLOW: 0o400000,
  CLOEXEC: 0o2000000,
  SYNC: 0o4010000,
} as const

/**
 * The flags `open()` accepts: a Node-style string or numeric `open(2)` flags.
 *
 * | string | meaning |
 * |---|---|
 * | `'r'` | read; the file must exist |
 * | `'r+'` | read and write; the file must exist |
 * | `'w'` / `'w+'` | write (and read); created or truncated |
 * | `'wx'` / `'wx+'` | as `'w'`, but fails with `EEXIST` if the file exists |
 * | `'a'` / `'a+'` | append (and read); created if missing, never truncated |
 * | `'ax'` / `'ax+'` | as `'a'`, but fails with `EEXIST` if the file exists |
 * | `'rs+'`, `'as'`, `'as+'` | as `'r+'`/`'a'`/`'a+'` with `O_SYNC` |
 */
export type OpenFlags =
  | 'r'
  | 'r+'
  | 'rs+'
  | 'w'
  | 'w+'
  | 'wx'
  | 'wx+'
  | 'a'
  | 'a+'
  | 'ax'
  | 'ax+'
  | 'as'
  | 'as+'
  | number

const STRING_FLAGS: Record<Exclude<OpenFlags, number>, number> = {
  r: O.RDONLY,
  'r+': O.RDWR,
  'rs+': O.RDWR | O.SYNC,
  w: O.WRONLY | O.CREAT | O.TRUNC,
  'w+': O.RDWR | O.CREAT | O.TRUNC,
  wx: O.WRONLY | O.CREAT | O.TRUNC | O.EXCL,
  'wx+': O.RDWR | O.CREAT | O.TRUNC | O.EXCL,
  a: O.WRONLY | O.CREAT | O.APPEND,
  'a+': O.RDWR | O.CREAT | O.APPEND,
  ax: O.WRONLY | O.CREAT | O.APPEND | O.EXCL,
  'ax+': O.RDWR | O.CREAT | O.APPEND | O.EXCL,
  as: O.WRONLY | O.CREAT | O.APPEND | O.SYNC,
  'as+': O.RDWR | O.CREAT | O.APPEND | O.SYNC,
}

/** What a flags value means for the kernel and for the `File`. */
export interface ParsedFlags {
  /** The flags passed to `openat` (never `O_APPEND`; `O_DIRECT` when direct). */
  readonly kernel: number
  readonly readable: boolean
  readonly writable: boolean
  readonly truncate: boolean
  readonly direct: boolean
}

/**
 * Parses `flags`; `direct` adds `O_DIRECT`.
 *
 * `O_APPEND` is dropped on purpose: with it Linux ignores the offset of every
 * positional write (pwrite(2), BUGS) and concurrent appends land in
 * completion order. `File.append()` gives the same result in call order from
 * a cursor the `File` owns (DESIGN.md principle 6).
 *
 * @throws TypeError for an unknown string or a non-integer
 */
export function parseFlags(flags: OpenFlags, direct: boolean): ParsedFlags {
  let k: number
  if (typeof flags === 'number') {
    if (!Number.isInteger(flags) || flags < 0 || flags > 0x7fffffff) throw new TypeError(`flags must be open(2) flags, got ${flags}`)
    k = flags
  } else {
    const v = STRING_FLAGS[flags as Exclude<OpenFlags, number>]
    if (typeof flags !== 'string' || v === undefined) {
      throw new TypeError(`flags must be one of ${Object.keys(STRING_FLAGS).join(', ')} or a number, got ${String(flags)}`)
    }
    k = v
  }
  k &= ~O.APPEND
  if (direct) k |= O.DIRECT
  const acc = k & O.ACCMODE
  if (acc === O.ACCMODE) throw new TypeError('flags: the access mode must be O_RDONLY, O_WRONLY or O_RDWR')
  return {
    kernel: k,
    readable: acc !== O.WRONLY,
    writable: acc !== O.RDONLY,
    truncate: (k & O.TRUNC) !== 0,
    direct: (k & O.DIRECT) !== 0,
  }
}
