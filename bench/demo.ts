// The demo pipeline's wall time on a fresh workspace, and the fully cached re-run, through the real CLI
// (`node bin/pipe.js run pipelines/demo.yaml --workspace TMP`). The cold run is the baseline: the figure
// is the cached/cold ratio, plus the cold time against the 3-minute target on 2 cores.
//   npm run bench:demo [-- --keep]      (--keep leaves the workspace for inspection)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const workspace = mkdtempSync(join(tmpdir(), 'pipe-bench-demo-'));
const keep = process.argv.includes('--keep');

function timedRun(): number {
  const t0 = process.hrtime.bigint();
  execFileSync(process.execPath, [join(root, 'bin', 'pipe.js'), 'run', join(root, 'pipelines', 'demo.yaml'), '--workspace', workspace], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

try {
  const cold = timedRun();
  const cached = timedRun();
  console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), node ${process.version}`);
  console.log(`demo cold run:   ${cold.toFixed(1)} s  (target < 180 s on 2 cores)`);
  console.log(`demo cached run: ${cached.toFixed(2)} s  (ratio cached/cold ${(cached / cold).toFixed(4)}, ${(cold / cached).toFixed(0)}x faster)`);
} finally {
  if (keep) console.log(`workspace kept: ${workspace}`);
  else rmSync(workspace, { recursive: true, force: true });
}
