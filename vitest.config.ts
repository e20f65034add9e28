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
    // A fork runs one test file after another without restarting (isolate: false): starting a fresh worker
    // and importing vitest, execa and the engine again cost about 1-2 s of CPU per file, ~100 s per run.
    // Test files share no state: each makes its own temporary workspace, none changes process.env or the
    // cwd, and the engine's module-level caches are keyed by content or workspace path.
    isolate: false,
    // As many forks kept as started: with fewer (minForks 1), tinypool ends idle forks while files are
    // still queued and vitest 3 reports "Terminating worker thread" for them.
    poolOptions: { forks: { maxForks: availableParallelism() + 1, minForks: availableParallelism() + 1 } },
  },
});
