// Types of what vitest.mutation.config.ts imports from stryker.config.mjs.
export declare const MUTATION_TESTS: string[];
