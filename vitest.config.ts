import { configDefaults, defineConfig } from 'vitest/config';

// Two cores on CI machines: fork pool, at most two workers. Slow suites (e2e, emulators) opt in to longer timeouts.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // A deployment in the checkout (the README's quickstart, .tclouds/) is never a test source.
    exclude: [...configDefaults.exclude, '**/.tclouds/**'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: { PULUMI_SKIP_UPDATE_CHECK: '1', NO_COLOR: '1', TCLOUDS_TELEMETRY: '0' },
  },
});
