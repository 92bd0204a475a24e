import { defineConfig } from 'vitest/config';

// CI asks for a JSON report so .ci/run can print the plain "N passed, N failed" line.
const ciReporters = process.env.HETMEM_VITEST_JSON
  ? { reporters: ['default', 'json'], outputFile: { json: '.vitest.json' } }
  : {};

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    exclude: ['dist/**', 'node_modules/**'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Which Chromium the browser tests drive (Debian's, or the npm package's where that is absent),
    // and a redis-server for the distributed sweep tests (Debian's, installed where missing).
    globalSetup: ['test/chromium-setup.ts', 'test/redis-setup.ts'],
    ...ciReporters,
  },
});
