// Vitest global setup, run once around the whole test run:
// - compiles src/, stages/ and bench/ into dist/ first, because about twenty test files run the real CLI
//   (bin/pipe.js imports dist/): without this, `npx vitest` after an edit would test the previous build.
//   Incremental (dist/.tsbuildinfo), so an unchanged tree costs a few seconds;
// - points TMPDIR at one fresh directory for the run (inherited by the test workers and every `pipe`
//   subprocess they start) and removes it at the end, so no temporary directory outlives the run, whichever
//   test or subprocess made it and however it ended.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './workspace.js';

function compile(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (r.error) throw r.error;
  // Type errors still emit JavaScript (noEmitOnError is off): the tests run and `npm run typecheck`
  // reports them; anything else (a broken tsconfig) stops the run.
  if (r.status !== 0) {
    const out = `${r.stdout}${r.stderr}`;
    if (!/error TS\d+/.test(out) || /error TS(5\d\d\d|6\d\d\d)/.test(out)) throw new Error(`tsc -p tsconfig.json failed:\n${out}`);
    process.stderr.write(`global setup: dist/ compiled with type errors (npm run typecheck):\n${out}`);
  }
}

export default function setup(): () => void {
  compile();
  const previous = process.env.TMPDIR;
  const dir = mkdtempSync(join(tmpdir(), 'pipe-tests-'));
  process.env.TMPDIR = dir;
  return () => {
    const left = readdirSync(dir).length;
    rmSync(dir, { recursive: true, force: true });
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    if (left && process.env.PIPE_TEST_TMP_REPORT) process.stderr.write(`global teardown: removed ${left} temporary entries the tests left in ${dir}\n`);
  };
}
