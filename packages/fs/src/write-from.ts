/**
 * An Observable of chunks written to a file back to back, in arrival order.
 *
 * @packageDocumentation
 */
import { abortError } from '@ringio/core/transport'
import { setMaxListeners } from 'node:events'
import type { Observable, Subscription } from 'rxjs'
import { checkInt, checkOffset, toBytes } from './args.js'
import { File } from './file.js'

/** Options of {@link writeFrom}. */
export interface WriteFromOptions {
  /** Where the first chunk goes: a byte offset, or `'append'` to take each chunk's offset from the file's append cursor. Default 0. */
  start?: number | 'append'
  /** Writes in flight at once (1 to 1024). Default 8. */
  concurrency?: number
  /** Aborting stops the source, cancels the writes in flight and rejects with the signal's reason. */
  signal?: AbortSignal
}

/**
 * Subscribes to `source` and writes its chunks to `file` contiguously, each
 * at the offset right after the previous one — assigned when the chunk
 * arrives, so the file holds the chunks in arrival order however the writes
 * complete. Up to `concurrency` writes are in flight; later chunks wait in
 * memory. Resolves with the total bytes written once the source completed
 * and every write finished.
 *
 * ## Example
 * ```ts
 * import { open, readChunks, writeFrom } from '@ringio/fs'
 * const src = await open('in.bin'), dst = await open('out.bin', 'w')
 * const n = await writeFrom(dst, readChunks(src, { chunkSize: 1 << 20 }), { concurrency: 4 })
 * await Promise.all([src.close(), dst.close()])
 * ```
 *
 * # Errors
 * Rejects with the first failure: a write's {@link IoError} (`EBADF` when the
 * file is closed or read-only, `ENOSPC`…), the source's error, a
 * `TypeError`/`RangeError` for a chunk that is not bytes or a string (or is
 * misaligned on a `direct` file), or the abort reason. The source is then
 * unsubscribed and the other writes in flight are cancelled.
 *
 * # Cancel safety
 * When the Promise settles, no write of it is in flight any more (closing the
 * file right after is safe). After a failure the file may hold any subset of
 * the chunks that were being written. Chunks are not copied: the source must
 * not modify a chunk after emitting it.
 */
export function writeFrom(file: File, source: Observable<Uint8Array | string>, opts: WriteFromOptions = {}): Promise<number> {
  if (!(file instanceof File)) throw new TypeError('writeFrom: file must be a File from open()')
  if (typeof source?.subscribe !== 'function') throw new TypeError('writeFrom: source must be an Observable')
  const append = opts.start === 'append'
  let pos = append ? 0 : checkOffset('start', opts.start ?? 0)
  const concurrency = checkInt('concurrency', opts.concurrency ?? 8, 1, 1024)
  const signal = opts.signal
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('signal must be an AbortSignal')
  if (signal?.aborted === true) return Promise.reject(abortError(signal))

  return new Promise<number>((resolve, reject) => {
    const ac = new AbortController()
    setMaxListeners(0, ac.signal) // one listener per operation in flight: not a leak
    const queue: [Uint8Array, number][] = []
    let head = 0
    let total = 0
    let inflight = 0
    let sourceDone = false
    let failure: { err: unknown } | null = null
    let settled = false
    let sub: Subscription | undefined

    const onAbort = (): void => fail(abortError(signal))
    signal?.addEventListener('abort', onAbort, { once: true })

    const settle = (): void => {
      if (settled || inflight > 0) return
      if (failure === null && !(sourceDone && head === queue.length)) return
      settled = true
      signal?.removeEventListener('abort', onAbort)
      if (failure !== null) reject(failure.err)
      else resolve(total)
    }

    function fail(err: unknown): void {
      if (failure !== null) return
      failure = { err }
      queue.length = head = 0
      ac.abort()
      sub?.unsubscribe()
      settle()
    }

    const pump = (): void => {
      while (failure === null && inflight < concurrency && head < queue.length) {
        const [buf, at] = queue[head]!
        queue[head++] = undefined as unknown as [Uint8Array, number]
        let p: Promise<number>
        try {
          p = append ? file.append(buf, { signal: ac.signal }) : file.write(buf, at, { signal: ac.signal })
        } catch (err) {
          fail(err)
          return
        }
        inflight++
        p.then(
          () => {
            inflight--
            total += buf.length
            pump()
            settle()
          },
          (err: unknown) => {
            inflight--
            fail(err)
            settle()
          },
        )
      }
      if (head === queue.length) queue.length = head = 0
    }

    sub = source.subscribe({
      next(chunk) {
        if (failure !== null) return
        let buf: Uint8Array
        try {
          buf = toBytes('chunk', chunk)
        } catch (err) {
          fail(err)
          return
        }
        if (buf.length === 0) return
        queue.push([buf, pos])
        pos += buf.length
        pump()
      },
      error: (err: unknown) => fail(err),
      complete() {
        sourceDone = true
        settle()
      },
    })
    // The source may have failed synchronously, before `sub` existed.
    if (failure !== null) sub.unsubscribe()
  })
}
