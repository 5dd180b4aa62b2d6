/**
 * File copy with several reads and writes in flight: the job of the classic
 * POSIX AIO / libaio copy samples.
 *
 * @packageDocumentation
 */
import { abortError, EINVAL, IoError } from '@ringio/core/transport'
import { setMaxListeners } from 'node:events'
import { stat } from 'node:fs/promises'
import { checkInt } from './args.js'
import { allocAligned, roundUp } from './aligned.js'
import { File } from './file.js'
import { open } from './open.js'
import { MAX_RW } from './transfer.js'

/** Options of {@link copy}. */
export interface CopyOptions {
  /** Chunks in flight (each one read, then written): 1 to 256. Default 8. */
  depth?: number
  /** Bytes per chunk, rounded up to the O_DIRECT block size when direct. Default 1 MiB. */
  chunkSize?: number
  /** Open path arguments with O_DIRECT (no page cache). `File` arguments keep their own mode. Default false. */
  direct?: boolean
  /** Aborting cancels the reads and writes in flight and rejects with the signal's reason. */
  signal?: AbortSignal
}

/**
 * Copies `src` to `dst`, `depth` chunks at a time, each read at its offset
 * and written at the same offset; resolves with the bytes copied. The size
 * is taken when the copy starts. Paths are opened (`src` `'r'`, `dst` `'w'`,
 * created with `src`'s permission bits) and closed again; `File`s are left
 * open, and an existing larger `dst` `File` is not truncated.
 *
 * The destination's space is reserved first (`fallocate`, where the file
 * system has it), so concurrent O_DIRECT writes do not serialise on file
 * extension. With O_DIRECT on either side, buffers are aligned, and a tail
 * that is not a whole block is written as a whole block, then cut back with
 * `ftruncate`.
 *
 * ## Example
 * ```ts
 * import { copy } from '@ringio/fs'
 * const bytes = await copy('/var/tmp/in.bin', '/var/tmp/out.bin', { depth: 16, direct: true })
 * ```
 *
 * # Errors
 * Rejects with the first {@link IoError} (`ENOENT`, `EISDIR`, `ENOSPC`; `EINVAL`
 * when both paths name the same file, before anything is opened) or
 * the abort reason, after every operation in flight has settled and the
 * files it opened are closed. `dst` then holds part of the data.
 *
 * # Cancel safety
 * Aborting cancels every read and write in flight in the kernel; the Promise
 * settles once they have all completed or been cancelled.
 */
export function copy(src: File | string, dst: File | string, opts: CopyOptions = {}): Promise<number> {
  for (const [n, v] of [['src', src], ['dst', dst]] as const) {
    if (!(v instanceof File) && typeof v !== 'string') throw new TypeError(`copy: ${n} must be a path or a File`)
  }
  const depth = checkInt('depth', opts.depth ?? 8, 1, 256)
  const chunk = checkInt('chunkSize', opts.chunkSize ?? 1 << 20, 1, MAX_RW)
  if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) throw new TypeError('signal must be an AbortSignal')
  return run(src, dst, depth, chunk, opts.direct === true, opts.signal)
}

async function run(src: File | string, dst: File | string, depth: number, chunkSize: number, direct: boolean, signal?: AbortSignal): Promise<number> {
  if (signal?.aborted === true) throw abortError(signal)
  if (typeof src === 'string' && typeof dst === 'string') await refuseSameFile(src, dst)
  const opened: File[] = []
  const own = (f: File): File => {
    opened.push(f)
    return f
  }
  try {
    const s = typeof src === 'string' ? own(await open(src, 'r', { direct, signal })) : src
    const st = await s.stat({ signal })
    const d = typeof dst === 'string' ? own(await open(dst, 'w', { direct, signal, mode: st.mode & 0o777 })) : dst
    return await copyFiles(s, d, st.size, depth, chunkSize, signal)
  } finally {
    await Promise.allSettled(opened.map((f) => f.close()))
  }
}

/** Opening `dst` with `'w'` would truncate `src` if they are one file (a link, `./a` and `a`…): refuse, as cp(1) does. */
async function refuseSameFile(src: string, dst: string): Promise<void> {
  const [a, b] = await Promise.all([stat(src, { bigint: true }).catch(() => null), stat(dst, { bigint: true }).catch(() => null)])
  if (a !== null && b !== null && a.ino === b.ino && a.dev === b.dev) {
    throw new IoError(EINVAL, 'copy', dst, { message: `copy failed: EINVAL (${dst}): source and destination are the same file` })
  }
}

async function copyFiles(s: File, d: File, size: number, depth: number, chunkSize: number, signal?: AbortSignal): Promise<number> {
  const isDirect = s.direct || d.direct
  const block = Math.max(s.alignment.offset, d.alignment.offset)
  const chunk = isDirect ? roundUp(chunkSize, block) : chunkSize
  const ac = new AbortController()
  const sig = signal === undefined ? ac.signal : AbortSignal.any([signal, ac.signal])
  setMaxListeners(0, sig) // one listener per operation in flight: not a leak
  let next = 0
  let copied = 0
  let endAt = 0 // the end of the data written (for the O_DIRECT tail)
  let padded = false
  let failure: { err: unknown } | null = null

  const worker = async (): Promise<void> => {
    const buf = isDirect ? allocAligned(chunk, Math.max(s.alignment.memory, d.alignment.memory)) : Buffer.allocUnsafeSlow(chunk)
    while (failure === null && next < size) {
      const at = next
      const len = Math.min(chunk, size - at)
      next += len
      const n = await s.read(buf.subarray(0, s.direct ? roundUp(len, block) : len), at, { signal: sig })
      const got = Math.min(n, len)
      if (got === 0) return // the source shrank
      let wlen = got
      if (d.direct && got % block !== 0) {
        wlen = roundUp(got, block) // the bytes past `got` are cut off below
        padded = true
      }
      await d.write(buf.subarray(0, wlen), at, { signal: sig })
      copied += got
      endAt = Math.max(endAt, at + got)
      if (got < len) return
    }
  }

  // Reserve the space first: on ext4 and xfs, concurrent O_DIRECT writes that
  // extend the file serialise on the inode lock; writes inside it do not.
  // Best effort: a file system without fallocate (EOPNOTSUPP) just skips it.
  let allocated = false
  if (size > 0 && (await d.stat({ signal })).type === 'file') {
    allocated = await d.allocate(0, size, { signal }).then(() => true, () => false)
  }

  const workers: Promise<void>[] = []
  for (let i = 0; i < depth && i * chunk < size; i++) {
    workers.push(
      worker().catch((err: unknown) => {
        if (failure === null) failure = { err: signal?.aborted === true ? abortError(signal) : err }
        ac.abort() // cancel the siblings' operations in flight
      }),
    )
  }
  await Promise.all(workers)
  if (failure !== null) throw (failure as { err: unknown }).err
  // Cut the block padding of an O_DIRECT tail, or the reserve of a source that shrank.
  if (padded || (allocated && endAt < size)) await d.truncate(endAt, { signal })
  return copied
}
