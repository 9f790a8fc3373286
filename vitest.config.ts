import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Integration tests each create their own databases, so files can run side by side.
    fileParallelism: true,
    maxWorkers: 3,
    reporters: ['default'],
  },
});
