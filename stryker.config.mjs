// Mutation testing of the engine core (`npm run test:mutation`, not part of `npm test`): which changes to
// keys, runner, hasher, store and loader would the tests notice? Results: reports/mutation/, figures and the
// equivalent survivors in docs/testing.md. CPU is scarce: one test process, incremental (only mutants whose
// code or tests changed since reports/stryker-incremental.json are re-tested), run under `nice`.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  plugins: ['@stryker-mutator/vitest-runner'],
  mutate: [
    'src/engine/keys.ts',
    // The runner and the steps split out of it.
    'src/engine/runner.ts',
    'src/engine/commit.ts',
    'src/engine/lock.ts',
    'src/engine/record.ts',
    'src/hash/**/*.ts',
    'src/store/**/*.ts',
    'src/pipeline/**/*.ts',
  ],
  coverageAnalysis: 'perTest',
  concurrency: 1,
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  ignorePatterns: ['/data/synthetic', '/models', '/runs', '/bench/.work', '/reports', '/test/golden'],
  timeoutMS: 30_000,
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
