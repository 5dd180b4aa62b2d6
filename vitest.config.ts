import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const PACKAGES = ['core', 'net', 'fs', 'tty'] as const;
const src = (p: string): string => fileURLToPath(new URL(`./packages/${p}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the sources, not the built dist.
    alias: [
      { find: /^@ringio\/core\/transport$/, replacement: fileURLToPath(new URL('./packages/core/src/transport.ts', import.meta.url)) },
      ...PACKAGES.map((p) => ({ find: new RegExp(`^@ringio/${p}$`), replacement: src(p) })),
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    // koffi handles and io_uring rings are per process: isolate in forks, not threads.
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 20_000,
    passWithNoTests: false,
    // Every test runs once per backend.
    projects: [
      { extends: true, test: { name: 'uring', env: { RINGIO_BACKEND: 'uring' } } },
      { extends: true, test: { name: 'poll', env: { RINGIO_BACKEND: 'poll' } } },
    ],
  },
});
