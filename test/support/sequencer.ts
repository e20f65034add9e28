// The order test files start in: longest first, so that the last files to finish are short ones and the
// two cores stay busy to the end (on the loaded machine the Slurm file, started last by size order, once ran
// alone for 10 minutes after everything else had finished). Vitest's own order is failed first, then longest
// by this machine's cache of the previous run (node_modules/.vite), and by file size when there is no cache:
// a fresh clone (CI) has none. There, the durations recorded in test/durations.json (`npm run
// test:durations` writes them from a run's JSON report) stand in for the cache. A file in neither (a new
// one) starts first, as vitest starts unknown files: it may be long, and a short one costs little there.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** test/durations.json: seconds per test file (repository-relative), from a recorded run. */
export const DURATIONS_FILE = 'test/durations.json';

export class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const recorded = JSON.parse(readFileSync(`${root}/${DURATIONS_FILE}`, 'utf8')) as Record<string, number>;
    const expected = (f: TestSpecification): number | undefined => {
      const rel = relative(root, f.moduleId);
      const cached = this.ctx.cache.getFileTestResults(`${f.project.name}:${rel}`);
      return cached ? cached.duration / 1000 : recorded[rel];
    };
    const failed = (f: TestSpecification) => Boolean(this.ctx.cache.getFileTestResults(`${f.project.name}:${relative(root, f.moduleId)}`)?.failed);
    // Array.sort is stable: files with no known duration keep vitest's order among themselves.
    return (await super.sort(files)).sort((a, b) => Number(failed(b)) - Number(failed(a)) || (expected(b) ?? Infinity) - (expected(a) ?? Infinity));
  }
}
