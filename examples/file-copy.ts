/**
 * Copies a file with N reads and writes in flight — the job of the classic
 * POSIX AIO and libaio copy samples — and prints the throughput.
 *
 *   node examples/dist/file-copy.js SRC DST [--direct] [--depth N] [--chunk BYTES]
 *
 * `--direct` opens both files with O_DIRECT (no page cache; aligned buffers
 * are handled for you). Exit code 1 with the error's code on failure.
 */
import { backend } from '@ringio/core'
import { copy, IoError } from '@ringio/fs'
import { parseArgs } from 'node:util'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    direct: { type: 'boolean', default: false },
    depth: { type: 'string', default: '8' },
    chunk: { type: 'string', default: String(1 << 20) },
    help: { type: 'boolean', short: 'h', default: false },
  },
})

if (values.help || positionals.length !== 2) {
  console.error('usage: file-copy SRC DST [--direct] [--depth N] [--chunk BYTES]')
  process.exit(values.help ? 0 : 2)
}
const [src, dst] = positionals as [string, string]
const depth = Number(values.depth)
const chunkSize = Number(values.chunk)

const ac = new AbortController()
process.once('SIGINT', () => ac.abort())

const t0 = process.hrtime.bigint()
try {
  const bytes = await copy(src, dst, { depth, chunkSize, direct: values.direct, signal: ac.signal })
  const s = Number(process.hrtime.bigint() - t0) / 1e9
  const mb = bytes / 1e6
  console.log(
    `copied ${mb.toFixed(1)} MB in ${s.toFixed(3)} s: ${(mb / s).toFixed(1)} MB/s ` +
      `(${backend()}, depth ${depth}, chunk ${chunkSize} B${values.direct ? ', O_DIRECT' : ''})`,
  )
} catch (err) {
  console.error(`file-copy: ${IoError.is(err) ? `${err.code}: ${err.message}` : String(err)}`)
  process.exit(1)
}
