import { defineConfig } from 'vitest/config';

/** The compose stack runs its own containers and builds an image: it goes alone, after everything else. */
const STACK_TESTS = 'test/deploy/compose-stack.test.ts';

export default defineConfig({
  test: {
    setupFiles: ['test/support/require-native-uws.ts'],
    reporters: ['default', './test/support/missing-tools-reporter.ts'],
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        // Two cores: integration tests start several nodes each.
        test: {
          name: 'core',
          include: ['test/**/*.test.ts'],
          exclude: [STACK_TESTS],
          globalSetup: ['test/support/global-redis.ts'],
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'stack', include: [STACK_TESTS], maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
