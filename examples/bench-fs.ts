/**
 * The @ringio/fs benchmark (issue 7), in one run:
 *
 * 1. 4 KiB random reads at queue depth 32 on a 1 GiB file, page cache
 *    dropped before each pass where permitted: ringio `File.read` vs
 *    `fs.promises` `FileHandle.read` with the same 32 reads in flight.
 * 2. Sequential 1 MiB O_DIRECT reads of the whole file: ringio vs
 *    `dd if=FILE of=/dev/null iflag=direct bs=1M`.
 *
 *   node examples/dist/bench-fs.js [--file /var/tmp/ringio-bench-1g.bin] [--size-mib 1024]
 *                                  [--reads 30000] [--depth 32] [--rounds 3] [--keep]
 *
 * The file is created once (random-ish data, fsync'd) and deleted at the end
 * unless `--keep`. Each figure is the best of `--rounds` passes.
 */
import { backend } from '@ringio/core'
import { AlignedPool, open, readChunks } from '@ringio/fs'
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs'
import * as fsp from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { lastValueFrom, reduce } from 'rxjs'

const { values } = parseArgs({
  options: {
    file: { type: 'string', default: '/var/tmp/ringio-bench-1g.bin' },
    'size-mib': { type: 'string', default: '1024' },
    reads: { type: 'string', default: '30000' },
    depth: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
  },
})
const FILE = values.file
const SIZE = Number(values['size-mib']) * 1024 * 1024
const READS = Number(values.reads)
const DEPTH = Number(values.depth)
const ROUNDS = Number(values.rounds)
const MiB = 1 << 20

const now = (): number => Number(process.hrtime.bigint()) / 1e9

/** Creates the test file with real (non-sparse) blocks of varied data, unless it is already there. */
async function ensureFile(): Promise<void> {
  if (existsSync(FILE) && statSync(FILE).size === SIZE) return
  const t0 = now()
  const f = await open(FILE, 'w')
  const pool = new AlignedPool({ size: 4 * MiB })
  let next = 0
  const worker = async (): Promise<void> => {
    const buf = pool.acquire()
    while (next < SIZE) {
      const at = next
      next += buf.length
      for (let i = 0; i < buf.length; i += 4096) buf.writeUInt32LE(((at + i) ^ 0x9e3779b9) >>> 0, i) // every block differs
      await f.write(buf.subarray(0, Math.min(buf.length, SIZE - at)), at)
    }
    pool.release(buf)
  }
  await Promise.all([worker(), worker(), worker(), worker()])
  await f.sync()
  await f.close()
  console.log(`created ${FILE} (${SIZE / MiB} MiB) in ${(now() - t0).toFixed(1)} s`)
}

let dropNote: string | undefined
/** Drops the page cache (root only); returns whether it worked. */
function dropCaches(): boolean {
  if (dropNote !== undefined) return false
  try {
    execFileSync('sync')
    writeFileSync('/proc/sys/vm/drop_caches', '3')
    return true
  } catch (err) {
    dropNote = `page cache NOT dropped (${(err as NodeJS.ErrnoException).code ?? String(err)}): random reads may be served from cache`
    return false
  }
}

/** `READS` random 4 KiB-aligned offsets, the same for every contender. */
function offsets(): Float64Array {
  const o = new Float64Array(READS)
  let x = 0x12345678
  const blocks = SIZE / 4096
  for (let i = 0; i < READS; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    o[i] = (x % blocks) * 4096
  }
  return o
}

/** Runs `one(i, worker)` for i in [0, READS) with DEPTH workers; returns reads per second. */
async function atDepth(one: (i: number, w: number) => Promise<unknown>): Promise<number> {
  let next = 0
  const t0 = now()
  await Promise.all(
    Array.from({ length: DEPTH }, async (_, w) => {
      while (next < READS) await one(next++, w)
    }),
  )
  return READS / (now() - t0)
}

async function randomRingio(offs: Float64Array, direct: boolean): Promise<number> {
  const f = await open(FILE, 'r', { direct })
  const pool = new AlignedPool({ size: 4096, maxFree: DEPTH })
  const bufs = Array.from({ length: DEPTH }, () => pool.acquire())
  dropCaches()
  const iops = await atDepth((i, w) => f.read(bufs[w]!, offs[i]!))
  await f.close()
  return iops
}

async function randomNode(offs: Float64Array): Promise<number> {
  const fh = await fsp.open(FILE, 'r')
  const bufs = Array.from({ length: DEPTH }, () => Buffer.alloc(4096))
  dropCaches()
  const iops = await atDepth((i, w) => fh.read(bufs[w]!, 0, 4096, offs[i]!))
  await fh.close()
  return iops
}

/** Sequential 1 MiB O_DIRECT reads with `depth` in flight through File.read and a pool; MB/s. */
async function seqRingio(depth: number): Promise<number> {
  const f = await open(FILE, 'r', { direct: true })
  const pool = new AlignedPool({ size: MiB, maxFree: depth })
  let next = 0
  let bytes = 0
  const t0 = now()
  await Promise.all(
    Array.from({ length: depth }, async () => {
      const buf = pool.acquire()
      while (next < SIZE) {
        const at = next
        next += MiB
        const n = await f.read(buf, at) // not `bytes += await …`: that reads `bytes` before the await
        bytes += n
      }
      pool.release(buf)
    }),
  )
  const mbs = bytes / 1e6 / (now() - t0)
  await f.close()
  if (bytes !== SIZE) throw new Error(`read ${bytes} of ${SIZE} bytes`)
  return mbs
}

/** The same through readChunks (a fresh aligned Buffer per chunk, emitted in order); MB/s. */
async function seqChunks(concurrency: number): Promise<number> {
  const f = await open(FILE, 'r', { direct: true })
  const t0 = now()
  const bytes = await lastValueFrom(readChunks(f, { chunkSize: MiB, concurrency }).pipe(reduce((n, c) => n + c.length, 0)))
  const mbs = bytes / 1e6 / (now() - t0)
  await f.close()
  if (bytes !== SIZE) throw new Error(`read ${bytes} of ${SIZE} bytes`)
  return mbs
}

/** dd's own figure: bytes / its reported seconds, in MB/s. */
function seqDd(): number {
  const r = spawnSync('dd', [`if=${FILE}`, 'of=/dev/null', 'iflag=direct', 'bs=1M'], { encoding: 'utf8' })
  const m = /(\d+) bytes .* copied, ([\d.]+) s/.exec(r.stderr)
  if (r.status !== 0 || m === null) throw new Error(`dd failed: ${r.stderr}`)
  return Number(m[1]) / 1e6 / Number(m[2])
}

async function best(n: number, f: () => Promise<number> | number): Promise<number> {
  let b = 0
  for (let i = 0; i < n; i++) b = Math.max(b, await f())
  return b
}

const fmt = (x: number): string => x.toFixed(0).padStart(8)
const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}x`

await ensureFile()
console.log(`backend ${backend()}, ${READS} random 4 KiB reads at depth ${DEPTH}, best of ${ROUNDS}`)
const offs = offsets()
const dropped = dropCaches()
console.log(dropped ? 'page cache dropped before each pass' : dropNote)

// Warm-up (not measured): JIT-compile both read paths and start the ring's workers.
{
  const f = await open(FILE, 'r')
  const fh = await fsp.open(FILE, 'r')
  const b = Buffer.alloc(4096)
  for (let i = 0; i < 2000; i++) await Promise.all([f.read(b, offs[i]!), fh.read(b, 0, 4096, offs[i]!)])
  await Promise.all([f.close(), fh.close()])
}

// Interleave the contenders so drift (host caches, CPU frequency) hits both alike.
let rRing = 0, rNode = 0, rDirect = 0
for (let i = 0; i < ROUNDS; i++) {
  rRing = Math.max(rRing, await randomRingio(offs, false))
  rNode = Math.max(rNode, await randomNode(offs))
  rDirect = Math.max(rDirect, await randomRingio(offs, true))
}
console.log(`random 4 KiB  ringio File.read        ${fmt(rRing)} reads/s`)
console.log(`random 4 KiB  fs.promises FileHandle  ${fmt(rNode)} reads/s`)
console.log(`random 4 KiB  ringio O_DIRECT         ${fmt(rDirect)} reads/s`)

let sDd = 0, s1 = 0, s4 = 0, sChunks = 0
for (let i = 0; i < ROUNDS; i++) {
  sDd = Math.max(sDd, seqDd())
  s1 = Math.max(s1, await seqRingio(1))
  s4 = Math.max(s4, await seqRingio(4))
  sChunks = Math.max(sChunks, await seqChunks(4))
}
console.log(`seq 1 MiB O_DIRECT  dd iflag=direct                ${fmt(sDd)} MB/s`)
console.log(`seq 1 MiB O_DIRECT  ringio File.read, depth 1      ${fmt(s1)} MB/s`)
console.log(`seq 1 MiB O_DIRECT  ringio File.read, depth 4      ${fmt(s4)} MB/s`)
console.log(`seq 1 MiB O_DIRECT  ringio readChunks, conc. 4     ${fmt(sChunks)} MB/s`)

console.log('\nratios')
console.log(`random 4 KiB @${DEPTH}: ringio / fs.promises = ${ratio(rRing, rNode)} (target >= 3x)${dropped ? '' : ' [cached]'}`)
console.log(`random 4 KiB @${DEPTH}: ringio O_DIRECT / fs.promises = ${ratio(rDirect, rNode)}`)
console.log(`seq 1 MiB O_DIRECT: ringio depth 1 / dd = ${ratio(s1, sDd)} (target >= 0.9x)`)
console.log(`seq 1 MiB O_DIRECT: ringio depth 4 / dd = ${ratio(s4, sDd)}`)
console.log(`seq 1 MiB O_DIRECT: readChunks conc. 4 / dd = ${ratio(sChunks, sDd)}`)

if (!values.keep) {
  rmSync(FILE, { force: true })
  console.log(`removed ${FILE}`)
}
