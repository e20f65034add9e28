// Fault injection: `pipe run` is killed with SIGKILL at random moments of a pipeline with command and
// built-in stages (one kill made deterministic inside the window between the rename into the store and the
// database row, through the PIPE_TEST_PAUSE_AT=commit hook), re-run each time; at the end `pipe run
// --verify` must find every committed result intact and byte-identical to an uninterrupted run's.
// `npm test` runs a short version (PIPE_FAULT_KILLS, default 5); `npm run test:faults` runs 50.
import { execa, type ResultPromise } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { PIPE_BIN, runPipeJson, tempWorkspace, type RunDoc, type TempWorkspace } from '../support/index.js';

const KILLS = Number(process.env.PIPE_FAULT_KILLS ?? 5);

// Command stages write their output slowly (many small appends, so a kill lands mid-write), a built-in kind
// generates a model folder, and downstream stages read both.
const WRITE_SLOWLY = `"const fs=require('fs'); for (let i=0;i<400;i++) { fs.appendFileSync(process.argv[1], 'line ' + i + ' of ' + process.argv[2] + '\\\\n'); if (i%40===0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0,20); }"`;
const PIPELINE = `stages:
  gen:
    matrix: { part: [a, b, c, d] }
    run: [node, -e, ${WRITE_SLOWLY}, "\${outs.o}", "\${matrix.part}"]
    outs: { o: part.txt }
  model:
    uses: clip/tiny-model
  synonyms:
    uses: synonyms/table
  sum:
    run: [sh, -c, 'cat "$@" | wc -l > "$0"', "\${outs.o}", "\${stages.gen.outputs.o}"]
    outs: { o: count.txt }
  digest:
    run: [sh, -c, '(cd "$1" && find . -type f | sort) > "$0"; cat "$2" >> "$0"', "\${outs.o}", "\${stages.model.outputs.model}", "\${stages.synonyms.outputs.synonyms}"]
    outs: { o: digest.txt }
`;

/** sha256 of a file, or of a directory's sorted (relative path, content) pairs. */
function contentHash(path: string): string {
  const h = createHash('sha256');
  const visit = (p: string, rel: string): void => {
    if (statSync(p).isDirectory()) for (const n of readdirSync(p).sort()) visit(join(p, n), `${rel}/${n}`);
    else h.update(`${rel}\0`).update(readFileSync(p)).update('\0');
  };
  visit(path, '');
  return h.digest('hex');
}

/** instance id -> output name -> content hash, for a finished run's outputs. */
function outputsOf(doc: RunDoc): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const i of doc.instances) out[i.id] = Object.fromEntries(Object.entries(i.outputs ?? {}).map(([n, p]) => [n, contentHash(p)]));
  return out;
}

function start(ws: TempWorkspace, args: string[], env: Record<string, string> = {}): ResultPromise {
  return execa(process.execPath, [PIPE_BIN, 'run', 'p.yaml', ...args], { cwd: ws.dir, env: { CI: '1', ...env }, reject: false });
}

const workspaces: TempWorkspace[] = [];
afterEach(() => {
  for (const w of workspaces.splice(0)) w.cleanup();
});

function workspace(): TempWorkspace {
  const ws = tempWorkspace();
  workspaces.push(ws);
  ws.write('p.yaml', PIPELINE);
  return ws;
}

/** Kills a run while it is paused between the rename into the store and the database row. */
async function killInCommitWindow(ws: TempWorkspace): Promise<boolean> {
  const child = start(ws, ['--force'], { PIPE_TEST_PAUSE_AT: 'commit' });
  const runs = ws.path('runs');
  for (let waited = 0; waited < 120_000; waited += 20) {
    const marker = existsSync(runs) ? readdirSync(runs).find((f) => f.startsWith('paused-')) : undefined;
    if (marker) {
      child.kill('SIGKILL');
      await child;
      rmSync(join(runs, marker), { force: true });
      return true;
    }
    await sleep(20);
  }
  child.kill('SIGKILL');
  await child;
  return false;
}

describe('fault injection', () => {
  it(`SIGKILL of pipe run at ${KILLS} random moments loses and forges nothing`, async () => {
    // The truth: an uninterrupted run in a workspace of its own, and how long it takes.
    const reference = workspace();
    const t0 = Date.now();
    const ref = await runPipeJson(['run', 'p.yaml'], { cwd: reference.dir });
    const fullMs = Date.now() - t0;
    expect(ref.exitCode, ref.stderr).toBe(0);
    const truth = outputsOf(ref.doc);

    const ws = workspace();
    expect(await killInCommitWindow(ws)).toBe(true);
    // Random moments of a seeded sequence (a failure can be replayed), over the span of a full run; every
    // other attempt is forced, so later kills land in stages that really run, not in cache restores.
    let seed = 12345;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let finished = 0;
    for (let k = 1; k < KILLS; k++) {
      const child = start(ws, k % 2 ? ['--force'] : []);
      await sleep(Math.floor(random() * fullMs));
      child.kill('SIGKILL');
      const r = await child;
      if (r.exitCode === 0) finished++;
    }

    const final = await runPipeJson(['run', 'p.yaml', '--verify'], { cwd: ws.dir });
    expect(final.exitCode, final.stderr).toBe(0);
    expect(final.stderr + JSON.stringify(final.doc)).not.toContain('corrupt');
    expect(outputsOf(final.doc)).toEqual(truth);
    // Nothing of a killed attempt is left behind once a run has cleaned up.
    expect(readdirSync(ws.path('runs/tmp'))).toEqual([]);
    process.stdout.write(`fault injection: ${KILLS} SIGKILLs (1 in the commit window, ${finished} runs finished first), full run ${fullMs} ms; final --verify run: ${JSON.stringify(Object.fromEntries(['ran', 'cached'].map((s) => [s, final.doc.instances.filter((i) => i.status === s).length])))}; outputs equal the uninterrupted run's\n`);
  });
});
