// Vitest global setup: compile src/, stages/ and bench/ into dist/ before any test runs, because about
// twenty test files run the real CLI (bin/pipe.js imports dist/): without this, `npx vitest` after an edit
// would test the previous build. Incremental (dist/.tsbuildinfo), so an unchanged tree costs a few seconds.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { REPO_ROOT } from './workspace.js';

export default function compile(): void {
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
