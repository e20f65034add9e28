import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { LongestFirst } from './test/support/sequencer.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Compiles dist/ first: the CLI the tests run is never an older build than the sources.
    globalSetup: ['test/support/global-setup.ts'],
    // Records each file's CPU seconds when PIPE_TEST_CPU names a file (npm run test:cpu); nothing otherwise.
    setupFiles: ['test/support/cpu-report.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Longest files first (test/durations.json where vitest has no cache of a previous run).
    sequence: { sequencer: LongestFirst },
    // One fork per core plus one: test files spend much of their time waiting (on `pipe` subprocesses
    // starting, on Slurm's scheduler, which counts time limits in minutes), and a file that waits should
    // not leave a core idle. Not more: most of the rest is CPU-bound (onnxruntime, training, tsc).
    pool: 'forks',
    poolOptions: { forks: { maxForks: availableParallelism() + 1, minForks: 1 } },
  },
});
