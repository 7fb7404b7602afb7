import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/build-package.ts'],
    testTimeout: 60_000,
    // The packed-client suite installs the tarball from the npm registry before its first test.
    hookTimeout: 600_000,
  },
});
