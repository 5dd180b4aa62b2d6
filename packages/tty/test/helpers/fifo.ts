/**
 * Real pipes for tests. Node's `spawn` gives children socketpairs, not pipes,
 * so a named pipe (a FIFO: the same kernel object as `|`) stands in for a
 * shell pipeline. The test keeps both ends, so the write end it passes to a
 * child is the *same open file description* — shared, as in `a | b`.
 */
import { execFileSync } from 'node:child_process'
import { closeSync, constants, mkdtempSync, openSync, read, rmSync, write } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Both ends of a pipe, as blocking fds this process owns. */
export interface Pipe {
  readonly r: number
  readonly w: number
  /** Reads exactly `n` bytes (less at EOF) in `chunk`-sized reads, sleeping `delayMs` between them. */
  readN(n: number, chunk: number, delayMs: number, onChunk?: () => void): Promise<Buffer>
  /** Writes all of `data` in `chunk`-sized writes, sleeping `delayMs` between them. */
  writeAll(data: Buffer, chunk: number, delayMs: number): Promise<void>
  close(): void
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export function makePipe(): Pipe {
  const dir = mkdtempSync(join(tmpdir(), 'ringio-tty-'))
  const path = join(dir, 'p')
  execFileSync('mkfifo', [path])
  // A FIFO opened blocking waits for the other side: open a non-blocking reader first.
  const rNb = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  const w = openSync(path, constants.O_WRONLY)
  const r = openSync(path, constants.O_RDONLY)
  closeSync(rNb)
  rmSync(dir, { recursive: true })
  let open = true
  return {
    r,
    w,
    async readN(n, chunk, delayMs, onChunk) {
      const out = Buffer.alloc(n)
      let got = 0
      while (got < n) {
        const k = await new Promise<number>((res, rej) => read(r, out, got, Math.min(chunk, n - got), null, (e, x) => (e ? rej(e) : res(x))))
        if (k === 0) break
        got += k
        onChunk?.()
        if (delayMs > 0) await sleep(delayMs)
      }
      return out.subarray(0, got)
    },
    async writeAll(data, chunk, delayMs) {
      for (let off = 0; off < data.length; ) {
        off += await new Promise<number>((res, rej) =>
          write(w, data, off, Math.min(chunk, data.length - off), null, (e, x) => (e ? rej(e) : res(x))),
        )
        if (delayMs > 0) await sleep(delayMs)
      }
    },
    close() {
      if (!open) return
      open = false
      closeSync(r)
      closeSync(w)
    },
  }
}
