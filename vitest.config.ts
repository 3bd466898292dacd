import { configDefaults, defineConfig } from 'vitest/config';

// Two cores on CI machines: fork pool, at most two workers. CI machines are busy (load averages of 25-47 seen):
// timeouts are deadlines for what never comes, not speed targets (those are in bench/), so they are generous;
// tests wait for events, and suites that start processes opt in to longer ones.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // A deployment in the checkout (the README's quickstart, .tclouds/) is never a test source.
    exclude: [...configDefaults.exclude, '**/.tclouds/**'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 300_000,
    env: { PULUMI_SKIP_UPDATE_CHECK: '1', NO_COLOR: '1', TCLOUDS_TELEMETRY: '0' },
  },
});
