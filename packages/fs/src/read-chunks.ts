/**
 * A file as an Observable of chunks, read with several reads in flight and
 * emitted in file order.
 *
 * @packageDocumentation
 */
import { setMaxListeners } from 'node:events'
import { Observable } from 'rxjs'
import { checkInt, checkOffset, MAX_OFFSET } from './args.js'
import { heapAligned, roundUp } from './aligned.js'
import { File } from './file.js'
import { MAX_RW } from './transfer.js'

/** Options of {@link readChunks}. */
export interface ReadChunksOptions {
  /** Bytes per read (and per emitted chunk). Default 64 KiB; on a `direct` file, a multiple of `file.alignment.offset`. */
  chunkSize?: number
  /** First byte to read. Default 0; on a `direct` file, a multiple of `file.alignment.offset`. */
  start?: number
  /** Byte offset to stop *before* (exclusive, like `slice`). Default: the end of the file, wherever it is when the reads reach it. */
  end?: number
  /** Reads in flight at once (1 to 1024). Default 4. */
  concurrency?: number
}

/**
 * Reads `[start, end)` of `file` as an Observable of Buffers, in file order,
 * with up to `concurrency` reads in flight. Completes at `end` or at end of
 * file; the last chunk may be shorter than `chunkSize`. Chunks are owned:
 * each is a fresh Buffer the subscriber may keep.
 *
 * On a `direct` file the reads are O_DIRECT (chunks are aligned Buffers; an
 * `end` that is not block-aligned is honoured by trimming the last chunk).
 *
 * ## Example
 * ```ts
 * import { open, readChunks } from '@ringio/fs'
 * import { createHash } from 'node:crypto'
 * const f = await open('big.iso')
 * const h = createHash('sha256')
 * readChunks(f, { chunkSize: 1 << 20, concurrency: 8 }).subscribe({
 *   next: (chunk) => h.update(chunk),
 *   complete: () => { console.log(h.digest('hex')); void f.close() },
 * })
 * ```
 *
 * # Errors
 * Errors with the first read's {@link IoError} (`EBADF` once the file is
 * closed, `EISDIR`, `EIO`…); chunks before it were emitted. Bad options throw
 * `TypeError`/`RangeError` at the call, before subscription.
 *
 * # Cancel safety
 * Unsubscribing cancels every read in flight in the kernel; reads have no
 * side effect, so nothing is lost but the chunks not yet emitted. There is
 * no backpressure beyond `concurrency`: a subscriber that must slow the
 * reads down should read with {@link File.read} instead.
 *
 * Each subscription reads the file again.
 */
export function readChunks(file: File, opts: ReadChunksOptions = {}): Observable<Buffer> {
  if (!(file instanceof File)) throw new TypeError('readChunks: file must be a File from open()')
  const chunkSize = checkInt('chunkSize', opts.chunkSize ?? 64 * 1024, 1, MAX_RW)
  const start = checkOffset('start', opts.start ?? 0)
  const end = opts.end === undefined ? Infinity : checkInt('end', opts.end, start, MAX_OFFSET)
  const concurrency = checkInt('concurrency', opts.concurrency ?? 4, 1, 1024)
  const al = file.alignment
  if (file.direct && (chunkSize % al.offset !== 0 || start % al.offset !== 0)) {
    throw new RangeError(`readChunks ${file.path}: O_DIRECT chunkSize and start must be multiples of ${al.offset}`)
  }

  return new Observable<Buffer>((subscriber) => {
    const ac = new AbortController()
    setMaxListeners(0, ac.signal) // one listener per operation in flight: not a leak
    // Chunks that completed ahead of their turn, by start offset: [bytes, length asked].
    const ready = new Map<number, [Buffer, number]>()
    let next = start // where the next read starts
    let emitAt = start // the start of the next chunk to emit
    let eof = end // the smallest offset known to be past the data
    let inflight = 0
    let done = false

    const stop = (): void => {
      done = true
      ac.abort()
    }

    const emit = (): void => {
      let r: [Buffer, number] | undefined
      while (!done && (r = ready.get(emitAt)) !== undefined) {
        ready.delete(emitAt)
        emitAt += r[1]
        if (r[0].length > 0) subscriber.next(r[0])
      }
      if (!done && emitAt >= eof) {
        stop()
        subscriber.complete()
      }
    }

    const pump = (): void => {
      while (!done && inflight < concurrency && next < eof) {
        const at = next
        const len = Math.min(chunkSize, eof - at)
        next += len
        // O_DIRECT lengths must be whole blocks: read a whole last block and trim.
        const readLen = file.direct ? roundUp(len, al.offset) : len
        const buf = file.direct ? heapAligned(readLen, al.memory) : Buffer.allocUnsafe(readLen)
        inflight++
        file.read(buf, at, { signal: ac.signal }).then(
          (n) => {
            inflight--
            if (done) return
            const got = Math.min(n, len)
            if (got < len) eof = Math.min(eof, at + got) // a short read is the end of the file
            ready.set(at, [buf.subarray(0, got), len])
            emit()
            pump()
          },
          (err: unknown) => {
            inflight--
            if (done) return
            stop()
            subscriber.error(err)
          },
        )
      }
    }

    if (start >= end) {
      done = true
      subscriber.complete()
    } else {
      pump()
    }
    return stop
  })
}
