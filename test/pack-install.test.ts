// What a user does with the published packages: `npm pack` the four
// packages, install the tarballs into a fresh app outside the monorepo that
// has its own rxjs (another 7.x than ours), then import them as ESM, require
// them as CJS, type-check code that pipes ringio's Observables through the
// app's rxjs operators under strict `nodenext`, and run an echo round trip.
//
// No network beyond the npm registry `npm ci` uses: installs prefer a
// dedicated npm cache in os.tmpdir() (kept across runs and `npm ci`, keyed by
// the lockfile), so only the first run on a machine downloads anything.
// Runs once (in the `uring` vitest project), not once per backend: the app
// itself runs its echo on both backends.
import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildOnce } from './helpers/build-once.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const PACKAGES = ['core', 'net', 'fs', 'tty'] as const
// The app's own rxjs: not the monorepo's (^7.8.2), so a nested copy would show.
// RINGIO_PACK_RXJS=7.x.y checks another one (how the peer range was chosen).
const APP_RXJS = process.env['RINGIO_PACK_RXJS'] ?? '7.8.1'
const lock = readFileSync(join(ROOT, 'package-lock.json'), 'utf8')
const lockedVersion = (name: string): string => (JSON.parse(lock) as { packages: Record<string, { version: string }> }).packages[`node_modules/${name}`]!.version
const TYPES_NODE = lockedVersion('@types/node')
const CACHE = join(tmpdir(), `ringio-pack-install-npm-cache-${createHash('sha256').update(lock).digest('hex').slice(0, 16)}`)
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')

// Node's own environment for children, without vitest's and npm's lifecycle variables.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_') && k !== 'NODE_OPTIONS' && !k.startsWith('VITEST')))

function run(cmd: string, args: string[], cwd: string, extraEnv: Record<string, string> = {}): string {
  const r = spawnSync(cmd, args, { cwd, env: { ...env, ...extraEnv }, encoding: 'utf8', timeout: 120_000, maxBuffer: 1 << 24 })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status ?? r.signal}\n${r.stdout}\n${r.stderr}`)
  return r.stdout + r.stderr
}

function newestMtime(dir: string): number {
  let t = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs)
  }
  return t
}

const distStale = (): boolean =>
  PACKAGES.some((p) => {
    const d = join(ROOT, 'packages', p, 'dist', 'index.d.cts')
    return !existsSync(d) || statSync(join(ROOT, 'packages', p, 'dist', 'index.js')).mtimeMs < newestMtime(join(ROOT, 'packages', p, 'src'))
  })

// The app's code. Type-checked as ESM (.mts: the `import` condition, index.d.ts)
// and as CJS (.cts: the `require` condition, index.d.cts), then run as emitted.
// rxjs exports its operators from 'rxjs' since 7.2; older 7.x only from 'rxjs/operators'.
const OPERATORS = Number(APP_RXJS.split('.')[1]) >= 2 ? 'rxjs' : 'rxjs/operators'
const ECHO_TS = `
import { firstValueFrom, Observable, type Subscription } from 'rxjs'
import { first, mergeMap, scan } from '${OPERATORS}'
import { backend, IoError, nop } from '@ringio/core'
import { getProactor, WriteQueue } from '@ringio/core/transport'
import { connect, listen, type Connection } from '@ringio/net'
import { open } from '@ringio/fs'
import { fdKind } from '@ringio/tty'

async function main(): Promise<void> {
  await nop()
  let port = 0
  let server: Subscription | undefined
  await new Promise<void>((resolve) => {
    server = listen({ host: '127.0.0.1', port: 0, onListening: (a) => { port = a.port; resolve() } })
      .pipe(mergeMap((conn: Connection) => conn.data$.pipe(mergeMap((chunk: Buffer) => conn.write(chunk)))))
      .subscribe()
  })
  const conn = await connect({ host: '127.0.0.1', port })
  const data$: Observable<Buffer> = conn.data$
  const echoed: Promise<string> = firstValueFrom(data$.pipe(scan((s: string, b: Buffer) => s + b.toString(), ''), first((s) => s.length >= 4)))
  await conn.write('ping')
  const reply = await echoed
  conn.close()
  server!.unsubscribe()
  const f = await open(process.argv[2]!, 'w+')
  await f.write('file', 0)
  await f.close()
  console.log(JSON.stringify({
    reply,
    backend: backend(),
    appRxjs: data$ instanceof Observable,
    ioError: new IoError(104, 'recv', 3).code,
    stdinKind: typeof fdKind(0),
    transport: getProactor().backend === backend() && typeof WriteQueue === 'function',
  }))
}
main().catch((err: unknown) => { console.error(err); process.exit(1) })
`

describe.runIf(process.env['RINGIO_BACKEND'] === 'uring')('the packed tarballs installed into an app', () => {
  let work = ''
  let app = ''
  const files = new Map<string, string[]>()
  const manifests = new Map<string, Record<string, unknown>>()

  beforeAll(async () => {
    await buildOnce(distStale)
    work = mkdtempSync(join(tmpdir(), 'ringio-pack-install-'))
    const tarballs = join(work, 'tarballs')
    mkdirSync(tarballs)
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', tarballs, ...PACKAGES.flatMap((p) => ['-w', `packages/${p}`])], { cwd: ROOT, env, encoding: 'utf8' }),
    ) as { name: string; filename: string; files: { path: string }[] }[]
    for (const p of packed) files.set(p.name, p.files.map((f) => f.path).sort())

    app = join(work, 'app')
    mkdirSync(app)
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({
        name: 'ringio-user-app',
        private: true,
        // What the README tells a user of npm 11: koffi's install script may run (it only
        // checks its prebuilt binary; it downloads nothing).
        allowScripts: { koffi: true },
        dependencies: { rxjs: APP_RXJS, ...Object.fromEntries(packed.map((p) => [p.name, `file:${join(tarballs, p.filename)}`])) },
        devDependencies: { '@types/node': TYPES_NODE },
      }),
    )
    const out = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--cache', CACHE], app)
    expect(out).not.toMatch(/not yet covered by allowScripts/)
    for (const p of PACKAGES) {
      manifests.set(p, JSON.parse(readFileSync(join(app, 'node_modules', '@ringio', p, 'package.json'), 'utf8')) as Record<string, unknown>)
    }
  }, 120_000)

  afterAll(() => {
    if (work !== '') rmSync(work, { recursive: true, force: true })
  })

  it('each tarball holds the dist (no source maps), its README and the LICENSE', () => {
    const entry = (e: string): string[] => [`dist/${e}.cjs`, `dist/${e}.d.cts`, `dist/${e}.d.ts`, `dist/${e}.js`]
    for (const p of PACKAGES) {
      const got = files.get(`@ringio/${p}`)!
      if (p === 'core') {
        // Two entries, and the chunks they share (one copy of each module per format).
        const chunks = got.filter((f) => /^dist\/(chunk-[\w-]+\.c?js|index-[\w-]+\.d\.c?ts)$/.test(f))
        expect(chunks.length).toBe(4)
        expect(got.filter((f) => !chunks.includes(f))).toEqual(['LICENSE', 'README.md', ...entry('index'), ...entry('transport'), 'package.json'])
      } else {
        expect(got).toEqual(['LICENSE', 'README.md', ...entry('index'), 'package.json'])
      }
      expect(readFileSync(join(app, 'node_modules', '@ringio', p, 'LICENSE'), 'utf8')).toBe(readFileSync(join(ROOT, 'LICENSE'), 'utf8'))
      expect(readFileSync(join(app, 'node_modules', '@ringio', p, 'README.md'), 'utf8')).toMatch(new RegExp(`npm install @ringio/${p}`))
      expect(readFileSync(join(app, 'node_modules', '@ringio', p, 'dist', 'index.js'), 'utf8')).not.toMatch(/sourceMappingURL/)
    }
  })

  it("rxjs is a peer: one copy, the app's own", () => {
    for (const p of PACKAGES) {
      const m = manifests.get(p)!
      expect(m['peerDependencies']).toEqual({ rxjs: expect.stringMatching(/^\^7\./) })
      expect(Object.keys(m['dependencies'] as object)).not.toContain('rxjs')
      expect(existsSync(join(app, 'node_modules', '@ringio', p, 'node_modules', 'rxjs'))).toBe(false)
    }
    expect(JSON.parse(readFileSync(join(app, 'node_modules', 'rxjs', 'package.json'), 'utf8')).version).toBe(APP_RXJS)
  })

  it('type-checks under strict nodenext as ESM and CJS, and runs both: an echo on each backend', () => {
    writeFileSync(join(app, 'echo.mts'), ECHO_TS)
    writeFileSync(join(app, 'echo.cts'), ECHO_TS)
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, skipLibCheck: false, types: ['node'], outDir: 'out' },
        files: ['echo.mts', 'echo.cts'],
      }),
    )
    // Type errors (e.g. TS2345 from a second rxjs) fail here with tsc's output.
    run(process.execPath, [TSC, '-p', 'tsconfig.json'], app)
    for (const backend of ['uring', 'poll']) {
      for (const file of ['out/echo.mjs', 'out/echo.cjs']) {
        const out = run(process.execPath, [file, join(work, `file-${backend}.bin`)], app, { RINGIO_BACKEND: backend })
        expect(JSON.parse(out.trim()), `${file} on ${backend}`).toEqual({ reply: 'ping', backend, appRxjs: true, ioError: 'ECONNRESET', stdinKind: 'string', transport: true })
      }
      expect(readFileSync(join(work, `file-${backend}.bin`), 'utf8')).toBe('file')
    }
  }, 60_000)
})
