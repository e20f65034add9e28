// The test files StrykerJS runs against each mutant of the engine core (`npm run test:mutation`): the fast
// tests that drive the engine, store, hasher and loader in the test process, where Stryker can see which
// mutants each test reaches, chosen per module in stryker.config.mjs. Tests that only reach the engine
// through a `pipe` subprocess cannot kill a mutant (the subprocess runs dist/, not the mutated sources) and
// are left out to keep each mutant cheap.
import { defineConfig } from 'vitest/config';
import { MUTATION_TESTS } from './stryker.config.mjs';

export default defineConfig({
  test: {
    include: MUTATION_TESTS,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 1, minForks: 1 } },
  },
});
