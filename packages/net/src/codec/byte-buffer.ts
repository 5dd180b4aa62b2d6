/**
 * The growable receive buffer decoders read from — ringio's `BytesMut`.
 *
 * @packageDocumentation
 */

const EMPTY = Buffer.alloc(0)

/**
 * Bytes received and not yet decoded. A decoder looks at {@link bytes} (or
 * {@link byteAt}/{@link indexOf}) and consumes a frame's bytes with
 * {@link take} or {@link skip}; what it leaves stays for the next call.
 *
 * Frames returned by `take()` are owned: safe to keep, never overwritten by
 * later input. When the buffer holds exactly one received chunk (the common
 * case) `take()` returns a view of it without copying.
 *
 * ## Example
 * ```ts
 * const buf = new ByteBuffer()
 * buf.append(Buffer.from('ab\ncd'))
 * const i = buf.indexOf(0x0a)         // 2
 * const line = buf.take(i); buf.skip(1)
 * ```
 */
export class ByteBuffer {
  private buf: Buffer = EMPTY
  private start = 0
  private end = 0
  /** Whether `buf` is our own storage (we write into it) or an adopted chunk (read-only to us). */
  private owned = false

  /** Bytes buffered. */
  get length(): number {
    return this.end - this.start
  }

  /** A view of the buffered bytes, valid until the next `append`/`take`/`skip`. */
  get bytes(): Buffer {
    return this.buf.subarray(this.start, this.end)
  }

  /** Appends received bytes (adopted without a copy when the buffer is empty: do not modify `chunk` afterwards). */
  append(chunk: Uint8Array): void {
    const n = chunk.length
    if (n === 0) return
    if (this.start === this.end) {
      this.buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, n)
      this.start = 0
      this.end = n
      this.owned = false
      return
    }
    const len = this.end - this.start
    if (!this.owned || this.end + n > this.buf.length) {
      if (this.owned && len + n <= this.buf.length && this.start >= len) {
        // Enough room once the unread bytes move to the front.
        this.buf.copy(this.buf, 0, this.start, this.end)
      } else {
        const next = Buffer.allocUnsafe(Math.max(len + n, this.owned ? this.buf.length * 2 : 0, 256))
        this.buf.copy(next, 0, this.start, this.end)
        this.buf = next
        this.owned = true
      }
      this.start = 0
      this.end = len
    }
    this.buf.set(chunk, this.end)
    this.end += n
  }

  /** The byte at `i` (0 = the first buffered byte); undefined past the end. */
  byteAt(i: number): number | undefined {
    return i < 0 || i >= this.length ? undefined : this.buf[this.start + i]
  }

  /** Index of `needle` in the buffered bytes at or after `from`, or -1. */
  indexOf(needle: number | Uint8Array, from = 0): number {
    if (from >= this.length) return -1
    const i = this.buf.indexOf(needle as Uint8Array, this.start + from)
    return i === -1 || i + (typeof needle === 'number' ? 1 : needle.length) > this.end ? -1 : i - this.start
  }

  /** Removes and returns the first `n` bytes (owned). */
  take(n: number): Buffer {
    if (n > this.length) throw new RangeError(`take(${n}) with only ${this.length} bytes buffered`)
    const view = this.buf.subarray(this.start, this.start + n)
    this.advance(n)
    // An adopted chunk is never written to: a view of it stays valid. Our own storage is reused.
    return this.owned ? Buffer.from(view) : view
  }

  /** Drops the first `n` bytes. */
  skip(n: number): void {
    if (n > this.length) throw new RangeError(`skip(${n}) with only ${this.length} bytes buffered`)
    this.advance(n)
  }

  /** Removes and returns everything buffered. */
  takeAll(): Buffer {
    return this.take(this.length)
  }

  /** Puts bytes back in front (a reader took more than it needed). */
  unshift(chunk: Uint8Array): void {
    if (chunk.length === 0) return
    const rest = this.takeAll()
    this.append(chunk)
    this.append(rest)
  }

  private advance(n: number): void {
    this.start += n
    if (this.start === this.end) {
      // Empty: drop an adopted chunk (the caller's frames keep it alive if they need it), keep our storage.
      this.start = this.end = 0
      if (!this.owned) this.buf = EMPTY
    }
  }
}
