/**
 * `open()`: OPENAT on the ring, giving a {@link File}.
 *
 * @packageDocumentation
 */
import { close as closeFd, EINVAL, IoError, openat } from '@ringio/core/transport'
import { fileURLToPath } from 'node:url'
import { checkInt, checkOpts } from './args.js'
import { DEFAULT_ALIGNMENT, NO_ALIGNMENT } from './direct.js'
import { File } from './file.js'
import { parseFlags, type OpenFlags } from './flags.js'
import { fstat } from './stat.js'


/** Options of {@link open}. */
export interface OpenOptions {
  /** Permission bits for a file it creates (the umask applies). Default `0o666`. */
  mode?: number
  /**
   * Open with `O_DIRECT`: transfers bypass the page cache, and every buffer
   * address, offset and length must be aligned (see {@link File.alignment};
   * get buffers from {@link allocAligned} or an {@link AlignedPool}).
   * Default false.
   */
  direct?: boolean
  /** Aborting cancels the open in the kernel; the Promise rejects with the signal's reason. */
  signal?: AbortSignal
}

/**
 * Opens `path` and resolves with a {@link File} that owns the descriptor
 * (always `O_CLOEXEC`). The kernel's `O_APPEND` is never set (see
 * {@link File.append}); for files opened for writing without truncation, the
 * append cursor starts at the current size. On a `direct` file the O_DIRECT
 * alignment is probed from the file system (`statx` `STATX_DIOALIGN`, else
 * the page size).
 *
 * ## Example
 * ```ts
 * import { open } from '@ringio/fs'
 * const f = await open('/var/tmp/data.bin', 'w+', { mode: 0o600 })
 * await f.write('hello', 0)
 * await f.close()
 * ```
 *
 * # Errors
 * Rejects with {@link IoError}: `ENOENT` (missing, without a creating flag),
 * `EEXIST` (`'wx'`/`'ax'`), `EISDIR` (a directory opened for writing),
 * `EACCES`/`EPERM` (permissions), `EINVAL` with `direct: true` on a file
 * system that refuses O_DIRECT (procfs; tmpfs before Linux 6.6), `EMFILE`…
 * Bad arguments throw `TypeError` at the call site.
 *
 * # Cancel safety
 * Aborting cancels the OPENAT; if the kernel opened the file before the
 * cancel reached it, that result wins and the `File` is returned.
 *
 * @param path a path (relative to the process's cwd) or a `file:` URL
 * @param flags Node-style flags (`'r'`, `'r+'`, `'w'`, `'wx'`, `'a'`…) or numeric `open(2)` flags. Default `'r'`.
 */
export function open(path: string | URL, flags: OpenFlags = 'r', opts: OpenOptions = {}): Promise<File> {
  const p = path instanceof URL ? fileURLToPath(path) : path
  if (typeof p !== 'string' || p.length === 0 || p.includes('\0')) {
    throw new TypeError('path must be a non-empty string (or file: URL) without NUL bytes')
  }
  if (typeof opts !== 'object' || opts === null) throw new TypeError('options must be an object')
  const mode = checkInt('mode', opts.mode ?? 0o666, 0, 0o7777)
  if (opts.direct !== undefined && typeof opts.direct !== 'boolean') throw new TypeError('direct must be a boolean')
  const parsed = parseFlags(flags, opts.direct === true)
  const signal = checkOpts({ signal: opts.signal })?.signal
  return openFile(p, parsed, mode, signal)
}

async function openFile(path: string, flags: ReturnType<typeof parseFlags>, mode: number, signal: AbortSignal | undefined): Promise<File> {
  let fd: number
  try {
    fd = await openat(path, flags.kernel, mode, { signal })
  } catch (err) {
    if (flags.direct && IoError.is(err) && err.errno === EINVAL) {
      throw new IoError(EINVAL, 'open', path, {
        cause: err,
        message: `open failed: EINVAL (${path}): the file system refuses O_DIRECT (direct: true)`,
      })
    }
    throw err
  }
  // The size (for the append cursor) and the O_DIRECT alignment need a stat;
  // a read-only buffered open, the common case, does without.
  const needSize = flags.writable && !flags.truncate
  if (!needSize && !flags.direct) return new File(fd, path, flags, 0, NO_ALIGNMENT)
  try {
    const st = await fstat(fd, path)
    return new File(fd, path, flags, needSize ? st.size : 0, flags.direct ? (st.directAlignment ?? DEFAULT_ALIGNMENT) : NO_ALIGNMENT)
  } catch (err) {
    await closeFd(fd).catch(() => undefined)
    throw err
  }
}
