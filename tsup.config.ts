import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { defineConfig, type Options } from 'tsup';

// Build order does not matter: every @ringio/* import is external in the JS,
// and the .d.ts build resolves @ringio/core through tsconfig.base.json paths
// (to packages/core/src) while keeping it external in the emitted declarations.
const PACKAGES = ['core', 'net', 'fs', 'tty'] as const;
const EXTERNAL: (string | RegExp)[] = ['koffi', 'rxjs', /^rxjs\//, 'ts-pattern', /^@ringio\//];

// Core has two entries: the user API (`index`) and what transports build on
// (`transport`, a superset). Splitting puts the modules both share into one
// chunk, so each format has one copy of the proactor module and its classes
// (instanceof checks, per-environment state). `treeshake` hands the output to
// rollup, which writes the cjs chunks itself; without it tsup converts esm
// chunks to cjs with sucrase (experimental), rewriting every `?.`, `??` and
// class into helper calls. A namespace export (`libc`, `sockets`) must live
// in the same chunk as the types it re-exports, or the bundled .d.ts turns a
// type into a value (TS2693 in a consumer: pack-install.test.ts catches it).
const ENTRIES: Partial<Record<(typeof PACKAGES)[number], string[]>> = { core: ['index', 'transport'] };

const packageConfigs: Options[] = PACKAGES.map((p) => ({
  name: `@ringio/${p}`,
  entry: Object.fromEntries((ENTRIES[p] ?? ['index']).map((e) => [e, `packages/${p}/src/${e}.ts`])),
  outDir: `packages/${p}/dist`,
  format: ['esm', 'cjs'],
  // tsup 8.5 injects `baseUrl: "."` into its .d.ts compile; TypeScript 6
  // reports that as deprecated (TS5101) and fails, so silence that one
  // deprecation for the dts build only (our own tsconfig has no baseUrl).
  dts: { compilerOptions: { ignoreDeprecations: '6.0' } },
  // No source maps in the published packages. The output is not minified:
  // names, structure and comments survive, so a stack trace into dist already
  // reads like the source. A map with `sourcesContent` was ~60 % of each
  // tarball; a map without it points at src/*.ts files that are not in the
  // tarball, which bundlers and dev servers (Vite) then warn about in users'
  // builds. Tests and examples run from src or with maps of their own.
  sourcemap: false,
  clean: true,
  target: 'node20',
  platform: 'node',
  // import.meta.url in the cjs build (serveWorkers loads its own file in each worker).
  shims: true,
  splitting: (ENTRIES[p]?.length ?? 1) > 1,
  treeshake: (ENTRIES[p]?.length ?? 1) > 1,
  tsconfig: 'tsconfig.base.json',
  external: EXTERNAL,
}));

// Every examples/*.ts becomes examples/dist/<name>.js, run with plain node;
// @ringio/* resolve at run time through the workspace symlinks to the built dist.
const exampleEntries = Object.fromEntries(
  readdirSync('examples')
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => [basename(f, '.ts'), join('examples', f)]),
);

const exampleConfigs: Options[] =
  Object.keys(exampleEntries).length === 0
    ? []
    : [
        {
          name: 'examples',
          entry: exampleEntries,
          outDir: 'examples/dist',
          format: ['esm'],
          outExtension: () => ({ js: '.js' }),
          dts: false,
          sourcemap: true,
          clean: true,
          target: 'node20',
          platform: 'node',
          splitting: false,
          tsconfig: 'tsconfig.base.json',
          external: EXTERNAL,
        },
      ];

export default defineConfig([...packageConfigs, ...exampleConfigs]);
