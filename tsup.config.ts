import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { defineConfig, type Options } from 'tsup';

// Build order does not matter: every @ringio/* import is external in the JS,
// and the .d.ts build resolves @ringio/core through tsconfig.base.json paths
// (to packages/core/src) while keeping it external in the emitted declarations.
const PACKAGES = ['core', 'net', 'fs', 'tty'] as const;
const EXTERNAL: (string | RegExp)[] = ['koffi', 'rxjs', /^rxjs\//, 'ts-pattern', /^@ringio\//];

const packageConfigs: Options[] = PACKAGES.map((p) => ({
  name: `@ringio/${p}`,
  entry: { index: `packages/${p}/src/index.ts` },
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
  splitting: false,
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
