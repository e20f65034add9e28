// Mutation testing of the engine core (`npm run test:mutation`, not part of `npm test`): which changes to
// keys, runner, hasher, store and loader would the tests notice? Figures and the equivalent survivors are in
// docs/testing.md. CPU is scarce (a full run takes hours on two cores), so it runs one module at a time:
//   MUTATION_MODULE=hash npm run test:mutation
// mutates that module only, runs only the test files that drive it in the test process, and keeps its own
// incremental file and report (reports/mutation/<module>.*), so a re-run only re-tests the mutants whose
// code or covering tests changed. Without MUTATION_MODULE every module is mutated in one run.

/**
 * Per module: the files mutated and the test files run against them: those that drive the module in the
 * test process and are fast (a mutant that survives runs every test that reaches it; a whole engine run per
 * test makes that minutes).
 */
export const MODULES = {
  // key-recipe.test.ts calls prepare() itself (milliseconds a test); keys.test.ts and selection.test.ts
  // show the same through whole runs (~30-90 s a file), too slow to run against every surviving mutant.
  keys: {
    mutate: ['src/engine/keys.ts'],
    tests: ['key-recipe', 'prepare'],
  },
  // The run loop. runner.test.ts drives it with built-in kinds that run in milliseconds, in the test
  // process: a mutant costs ~6 s on the loaded machine, where the whole-engine tests (keys, selection: a pipe of
  // shell commands per test) cost ~30 s each. The steps split out of it (commit, lock, record) are
  // reached by the same tests but not mutated here: `--mutate src/engine/commit.ts` measures one.
  runner: {
    mutate: ['src/engine/runner.ts'],
    tests: ['runner'],
  },
  hash: {
    mutate: ['src/hash/**/*.ts'],
    tests: ['hash-cache'],
  },
  store: {
    mutate: ['src/store/**/*.ts'],
    tests: ['store', 'store-migration', 'hash-cache'],
  },
  pipeline: {
    mutate: ['src/pipeline/**/*.ts'],
    tests: ['load', 'interpolate', 'validate', 'for-each', 'group-by', 'outs', 'publish-targets', 'kinds', 'validators', 'untracked', 'resolve', 'load-checks', 'glob-axis', 'params-files', 'matrix-values'],
  },
};

const testFile = (name) => `test/engine/${name}.test.ts`.replace('test/engine/../', 'test/');
const chosen = process.env.MUTATION_MODULE;
if (chosen !== undefined && !(chosen in MODULES)) {
  throw new Error(`MUTATION_MODULE=${chosen}: not a module; use one of ${Object.keys(MODULES).join(', ')}`);
}
const selected = chosen ? [MODULES[chosen]] : Object.values(MODULES);
const name = chosen ?? 'all';

/** The test files of the selected modules (vitest.mutation.config.ts runs these). */
export const MUTATION_TESTS = [...new Set(selected.flatMap((m) => m.tests.map(testFile)))];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  plugins: ['@stryker-mutator/vitest-runner'],
  mutate: [...new Set(selected.flatMap((m) => m.mutate))],
  coverageAnalysis: 'perTest',
  concurrency: 1,
  incremental: true,
  incrementalFile: `reports/stryker-incremental-${name}.json`,
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  ignorePatterns: ['/data/synthetic', '/models', '/runs', '/bench/.work', '/reports', '/test/golden'],
  timeoutMS: 30_000,
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
