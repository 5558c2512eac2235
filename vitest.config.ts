import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-redis.ts'],
    setupFiles: ['test/support/require-native-uws.ts'],
    reporters: ['default', './test/support/missing-tools-reporter.ts'],
    pool: 'forks',
    // Two cores: integration tests start several nodes each.
    maxWorkers: 2,
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
