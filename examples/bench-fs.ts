/**
 * The @ringio/fs benchmark (issue 7), in one run:
 *
 * 1. 4 KiB random reads at queue depth 32 on a 1 GiB file, page cache
 *    dropped before each pass where permitted: ringio `File.read` (buffered
 *    and O_DIRECT) vs `fs.promises` `FileHandle.read` with the same 32 reads
 *    in flight, and — when `fio` is installed — fio's io_uring engine
 *    replaying the very same offsets (an iolog) at the same depth, with the
 *    same setup as ringio: no registered files or buffers, no SQPOLL, no
 *    polled I/O (fio's defaults).
 * 2. Sequential 1 MiB O_DIRECT reads of the whole file: ringio vs
 *    `dd if=FILE of=/dev/null iflag=direct bs=1M` (and fio io_uring, depth 1).
 *
 *   node examples/dist/bench-fs.js [--file /var/tmp/ringio-bench-1g.bin] [--size-mib 1024]
 *                                  [--reads 30000] [--depth 32] [--rounds 5] [--keep]
 *
 * The file is created once (random-ish data, fsync'd) and deleted at the end
 * unless `--keep`. The contenders take turns within each round; each figure is
 * the best of `--rounds` passes, and each ratio the median of the per-round
 * ratios (the machine is shared and noisy: only figures of the same round
 * compare).
 */
import { backend } from '@ringio/core'
import { AlignedPool, open, readChunks } from '@ringio/fs'
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as fsp from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { lastValueFrom, reduce } from 'rxjs'

const { values } = parseArgs({
  options: {
    file: { type: 'string', default: '/var/tmp/ringio-bench-1g.bin' },
    'size-mib': { type: 'string', default: '1024' },
    reads: { type: 'string', default: '30000' },
    depth: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '5' },
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

const hasFio = spawnSync('fio', ['--version'], { encoding: 'utf8' }).status === 0
const fioDir = hasFio ? mkdtempSync(join(tmpdir(), 'ringio-bench-fs-')) : ''

/** The random offsets as a fio iolog (version 2), so fio replays exactly the reads ringio does. */
function writeIolog(offs: Float64Array): string {
  const log = join(fioDir, 'random.iolog')
  const lines = ['fio version 2 iolog', `${FILE} add`, `${FILE} open`]
  for (const o of offs) lines.push(`${FILE} read ${o} 4096`)
  lines.push(`${FILE} close`)
  writeFileSync(log, `${lines.join('\n')}\n`)
  return log
}

/** Runs fio (io_uring engine, its default setup) and returns its read IOPS and bandwidth (KiB/s), from the terse output. */
function fio(args: string[]): { iops: number; kibs: number } {
  const r = spawnSync('fio', ['--name=ringio-bench', '--ioengine=io_uring', '--readonly', '--output-format=terse', ...args], {
    encoding: 'utf8',
  })
  const f = r.stdout.split(';')
  if (r.status !== 0 || f.length < 8) throw new Error(`fio failed: ${r.stderr}`)
  return { kibs: Number(f[6]), iops: Number(f[7]) }
}

function randomFio(iolog: string, direct: boolean): number {
  dropCaches()
  return fio([`--read_iolog=${iolog}`, '--replay_no_stall=1', `--iodepth=${DEPTH}`, `--direct=${direct ? 1 : 0}`]).iops
}

function seqFio(): number {
  return (fio([`--filename=${FILE}`, '--rw=read', `--bs=${MiB}`, '--iodepth=1', '--direct=1']).kibs * 1024) / 1e6
}

/** Runs every contender once, starting with the `i`-th (each round starts with another one: none is always first or last). */
async function round(contenders: [string, () => Promise<number> | number][], i: number): Promise<Record<string, number>> {
  const row: Record<string, number> = {}
  for (let k = 0; k < contenders.length; k++) {
    const [name, run] = contenders[(i + k) % contenders.length]!
    row[name] = await run()
  }
  return row
}

/** Per-contender figures of every round: the best, and the median of per-round ratios. */
class Rounds {
  private readonly rows: Record<string, number>[] = []
  add(row: Record<string, number>): void {
    this.rows.push(row)
  }
  best(k: string): number {
    return Math.max(...this.rows.map((r) => r[k] ?? 0))
  }
  ratio(a: string, b: string): string {
    const rs = this.rows.map((r) => r[a]! / r[b]!).sort((x, y) => x - y)
    const mid = rs.length >> 1
    const med = rs.length % 2 === 1 ? rs[mid]! : (rs[mid - 1]! + rs[mid]!) / 2
    return `${med.toFixed(2)}x (rounds ${rs[0]!.toFixed(2)}–${rs[rs.length - 1]!.toFixed(2)})`
  }
}

const fmt = (x: number): string => x.toFixed(0).padStart(8)
const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}x`

await ensureFile()
console.log(`backend ${backend()}, ${READS} random 4 KiB reads at depth ${DEPTH}, best of ${ROUNDS}`)
const offs = offsets()
const dropped = dropCaches()
console.log(dropped ? 'page cache dropped before each pass' : dropNote)

// Warm-up (not measured): JIT-compile the read paths and start the ring.
{
  const f = await open(FILE, 'r')
  const d = await open(FILE, 'r', { direct: true })
  const fh = await fsp.open(FILE, 'r')
  const b = Buffer.alloc(4096)
  const pool = new AlignedPool({ size: 4096, maxFree: 1 })
  const a = pool.acquire()
  for (let i = 0; i < 2000; i++) await Promise.all([f.read(b, offs[i]!), d.read(a, offs[i]!), fh.read(b, 0, 4096, offs[i]!)])
  await Promise.all([f.close(), d.close(), fh.close()])
}

const iolog = hasFio ? writeIolog(offs) : ''
console.log(
  hasFio
    ? `fio ${spawnSync('fio', ['--version'], { encoding: 'utf8' }).stdout.trim()}: io_uring engine, same offsets (iolog) and depth, defaults (no fixedbufs/registerfiles/sqthread_poll/hipri)`
    : 'fio not installed: no fio figures (apt-get install fio)',
)

// The contenders take turns in every round, so drift (host caches, CPU
// frequency, the neighbours' load) hits them alike.
const rnd = new Rounds()
for (let i = 0; i < ROUNDS; i++) {
  const contenders: [string, () => Promise<number> | number][] = [
    ['ring', () => randomRingio(offs, false)],
    ['node', () => randomNode(offs)],
    ['direct', () => randomRingio(offs, true)],
  ]
  if (hasFio) contenders.push(['fioDirect', () => randomFio(iolog, true)], ['fioBuffered', () => randomFio(iolog, false)])
  rnd.add(await round(contenders, i))
}
console.log(`random 4 KiB  ringio File.read        ${fmt(rnd.best('ring'))} reads/s`)
console.log(`random 4 KiB  fs.promises FileHandle  ${fmt(rnd.best('node'))} reads/s`)
console.log(`random 4 KiB  ringio O_DIRECT         ${fmt(rnd.best('direct'))} reads/s`)
if (hasFio) {
  console.log(`random 4 KiB  fio io_uring buffered   ${fmt(rnd.best('fioBuffered'))} reads/s`)
  console.log(`random 4 KiB  fio io_uring direct=1   ${fmt(rnd.best('fioDirect'))} reads/s`)
}

const seq = new Rounds()
for (let i = 0; i < ROUNDS; i++) {
  const contenders: [string, () => Promise<number> | number][] = [
    ['dd', seqDd],
    ['r1', () => seqRingio(1)],
    ['r4', () => seqRingio(4)],
    ['chunks', () => seqChunks(4)],
  ]
  if (hasFio) contenders.push(['fio', seqFio])
  seq.add(await round(contenders, i))
}
console.log(`seq 1 MiB O_DIRECT  dd iflag=direct                ${fmt(seq.best('dd'))} MB/s`)
console.log(`seq 1 MiB O_DIRECT  ringio File.read, depth 1      ${fmt(seq.best('r1'))} MB/s`)
console.log(`seq 1 MiB O_DIRECT  ringio File.read, depth 4      ${fmt(seq.best('r4'))} MB/s`)
console.log(`seq 1 MiB O_DIRECT  ringio readChunks, conc. 4     ${fmt(seq.best('chunks'))} MB/s`)
if (hasFio) console.log(`seq 1 MiB O_DIRECT  fio io_uring, depth 1          ${fmt(seq.best('fio'))} MB/s`)

console.log(`\nratios (median of ${ROUNDS} rounds; range)`)
const cached = dropped ? '' : ' [cached]'
console.log(`random 4 KiB @${DEPTH}: ringio / fs.promises = ${rnd.ratio("ring", "node")} (target >= 3x)${cached}`)
console.log(`random 4 KiB @${DEPTH}: ringio O_DIRECT / fs.promises = ${rnd.ratio('direct', 'node')} (target >= 3x)${cached}`)
if (hasFio) {
  console.log(`random 4 KiB @${DEPTH}: ringio / fio buffered = ${rnd.ratio('ring', 'fioBuffered')}`)
  console.log(`random 4 KiB @${DEPTH}: ringio O_DIRECT / fio direct = ${rnd.ratio('direct', 'fioDirect')}`)
  console.log(`random 4 KiB @${DEPTH}: fio direct / fs.promises = ${rnd.ratio('fioDirect', 'node')} (the device's ceiling for the 3x target)`)
}
console.log(`seq 1 MiB O_DIRECT: ringio depth 1 / dd = ${seq.ratio('r1', 'dd')} (target >= 0.9x)`)
console.log(`seq 1 MiB O_DIRECT: ringio depth 4 / dd = ${seq.ratio('r4', 'dd')}`)
console.log(`seq 1 MiB O_DIRECT: readChunks conc. 4 / dd = ${seq.ratio('chunks', 'dd')}`)
if (hasFio) console.log(`seq 1 MiB O_DIRECT: fio depth 1 / dd = ${seq.ratio('fio', 'dd')}`)
if (hasFio) rmSync(fioDir, { recursive: true, force: true })

if (!values.keep) {
  rmSync(FILE, { force: true })
  console.log(`removed ${FILE}`)
}
