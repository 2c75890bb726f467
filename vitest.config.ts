import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Temporal's native module crashes in worker threads: every suite runs in a forked process.
    pool: 'forks',
    globalSetup: ['test/support/temporal-global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
