// `pipe run --executor slurm` against a real one-node Slurm (tools/slurm-single-node.sh starts it).
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { execa } from 'execa';
import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { byStatus, filesContaining, PIPE_BIN, REPO_ROOT, runPipe, runPipeJson, tempWorkspace, type TempWorkspace } from '../support/index.js';
import { cancelJobsOf, ensureSlurm, eventually, jobsOf } from '../support/slurm.js';

let ws: TempWorkspace;
beforeAll(() => ensureSlurm());
afterEach(async () => {
  // Nothing a test submitted may outlive it.
  await cancelJobsOf(ws.dir);
  ws.cleanup();
});

/** `pipe run` started in the background, for the signal tests. */
function startRun(args: string[]) {
  return execa(process.execPath, [PIPE_BIN, 'run', 'p.yaml', '--executor', 'slurm', ...args], { cwd: ws.dir, env: { CI: '1' }, reject: false, all: true });
}

async function showRun(run: number): Promise<{ instances: { instanceId: string; status: string; executor: string | null; jobId: string | null; error: string | null }[] }> {
  const r = await runPipe(['show', String(run), '--json'], { cwd: ws.dir });
  return JSON.parse(r.stdout);
}

const SLEEPERS = `
stages:
  nap:
    matrix: { i: [1, 2] }
    run: [bash, -c, 'sleep 6; echo "$$\{SLURM_ARRAY_JOB_ID:-$SLURM_JOB_ID}$$\{SLURM_ARRAY_TASK_ID:+_$SLURM_ARRAY_TASK_ID}" > "$0"', "\${outs.o}", "\${matrix.i}"]
    outs: { o: o.txt }
`;

// A job waits for the cluster's two CPUs, which other tests (and a loaded machine) share: a run through
// Slurm gets minutes, not the default 60 s, before the test gives up on it.
const SLURM_RUN_MS = 240_000;

describe('pipe run --executor slurm', { timeout: 300_000 }, () => {
  it('runs a command and a built-in stage as jobs; keys and bytes as a local run; cached the second time', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', `
stages:
  job-id:
    run: [bash, -c, 'echo "$SLURM_JOB_ID" > "$0"', "\${outs.id}"]
    outs: { id: id.txt }
  synonyms:
    uses: synonyms/table
`);
    const first = await runPipeJson(['run', 'p.yaml', '--executor', 'slurm'], { cwd: ws.dir, timeoutMs: SLURM_RUN_MS });
    expect(first.exitCode, first.stderr).toBe(0);
    expect(byStatus(first.doc)).toEqual({ ran: ['job-id', 'synonyms'] });
    const shown = await showRun(first.doc.run!);
    const rec = shown.instances.find((i) => i.instanceId === 'job-id')!;
    expect(rec.executor).toBe('slurm');
    expect(rec.jobId).toMatch(/^\d+$/);
    // The command ran inside that Slurm job.
    expect(readFileSync(first.doc.instances.find((i) => i.id === 'job-id')!.outputs!.id, 'utf8').trim()).toBe(rec.jobId);
    expect(shown.instances.find((i) => i.instanceId === 'synonyms')!.jobId).toMatch(/^\d+$/);

    const again = await runPipeJson(['run', 'p.yaml', '--executor', 'slurm'], { cwd: ws.dir, timeoutMs: SLURM_RUN_MS });
    expect(byStatus(again.doc)).toEqual({ cached: ['job-id', 'synonyms'] });

    // The built-in stage run locally, in the same workspace path, gives the same key and the same bytes.
    const slurmOut = readFileSync(first.doc.instances.find((i) => i.id === 'synonyms')!.outputs!.synonyms);
    renameSync(ws.path('runs'), ws.path('runs-slurm'));
    const local = await runPipeJson(['run', 'p.yaml', '--only', 'synonyms'], { cwd: ws.dir });
    const l = local.doc.instances.find((i) => i.id === 'synonyms')!;
    expect(l.key).toBe(first.doc.instances.find((i) => i.id === 'synonyms')!.key);
    expect(readFileSync(l.outputs!.synonyms)).toEqual(slurmOut);
    expect((await showRun(local.doc.run!)).instances[0].executor).toBe('local');
  });

  it('a failing job fails its instance with the exit code and the log tail', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', `
stages:
  bad:
    run: [bash, -c, 'echo about to fail; exit 3']
    outs: { o: o.txt }
`);
    const r = await runPipeJson(['run', 'p.yaml', '--executor', 'slurm'], { cwd: ws.dir, timeoutMs: SLURM_RUN_MS });
    expect(r.exitCode).toBe(1);
    const bad = r.doc.instances[0];
    expect(bad.status).toBe('failed');
    expect(bad.error).toBe('command exited with code 3');
    expect(bad.log_tail).toContain('about to fail');
  });

  it('a command stage with secrets: the job gets the secret, its log and the workspace never hold it in clear', async () => {
    ws = tempWorkspace();
    const secret = 'sk-slurm-Zq8VtT3s1cr3t-0042';
    ws.write('p.yaml', `
stages:
  call:
    run: [bash, -c, 'echo "token $API_TOKEN"; echo "stderr $API_TOKEN" >&2; echo -n "$API_TOKEN" | sha256sum | cut -c1-64 > "$0"', "\${outs.o}"]
    secrets: [API_TOKEN]
    outs: { o: o.txt }
  fail:
    run: [bash, -c, 'echo "about to fail with $API_TOKEN"; exit 3']
    secrets: [API_TOKEN]
`);
    const env = { API_TOKEN: secret };
    const r = await runPipeJson(['run', 'p.yaml', '--executor', 'slurm', '--keep-going'], { cwd: ws.dir, env, timeoutMs: SLURM_RUN_MS });
    expect(r.exitCode).toBe(1);
    const call = r.doc.instances.find((i) => i.id === 'call')!;
    expect(call.status).toBe('ran');
    expect(readFileSync(call.outputs!.o, 'utf8').trim()).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(readFileSync(ws.path(`runs/logs/${r.doc.run}/call.log`), 'utf8')).toMatch(/token \*\*\*\n[^]*stderr \*\*\*/);
    const fail = r.doc.instances.find((i) => i.id === 'fail')!;
    expect(fail.error).toBe('command exited with code 3');
    expect(fail.log_tail?.join('\n')).toContain('about to fail with ***');
    expect(JSON.stringify(r.doc) + r.stderr).not.toContain(secret);
    // The whole workspace: logs, job scripts and requests, Slurm's own output files, the database.
    expect(filesContaining(ws.dir, [secret])).toEqual([]);
  });

  it('a job cancelled from outside fails its instance clearly', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', `
stages:
  long:
    run: [sleep, '600']
`);
    const run = startRun(['--json']);
    const [job] = await eventually(async () => {
      const j = await jobsOf(ws.dir);
      return j.length ? j : undefined;
    });
    await execa('scancel', [job.id]);
    const r = await run;
    expect(r.exitCode).toBe(1);
    const doc = JSON.parse(r.stdout) as { instances: { error?: string }[] };
    expect(doc.instances[0].error).toMatch(/cancelled from outside pipe/);
  });

  it('SIGINT of the controller cancels every job it submitted', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', SLEEPERS.replace('sleep 6', 'sleep 600'));
    const run = startRun([]);
    await eventually(async () => (await jobsOf(ws.dir)).length === 2);
    run.kill('SIGINT');
    const r = await run;
    expect(r.exitCode).toBe(1);
    expect(r.all).toMatch(/interrupted/);
    // Every job of the run ends CANCELLED (an array cancelled while pending is listed as one record). A
    // running job passes through COMPLETING until slurmd has ended its processes (KillWait, 30 s by
    // default), which in a loaded full suite took longer than the 20 s this waited before (CI, 14:05).
    const jobs = await eventually(async () => {
      const j = await jobsOf(ws.dir);
      return j.every((x) => x.state === 'CANCELLED') ? j : undefined;
    }, 90_000);
    expect(jobs.length).toBeGreaterThan(0);
  });

  it('a controller killed with SIGKILL re-attaches to its jobs on the next run (no duplicates)', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', SLEEPERS);
    const run = startRun([]);
    const before = await eventually(async () => {
      const j = await jobsOf(ws.dir);
      return j.length === 2 ? j : undefined;
    });
    // Killed once both jobs are recorded in the store (sbatch has returned and the ids were written).
    await eventually(async () => {
      const db = new Database(ws.path('runs/pipe.db'), { readonly: true });
      try {
        return (db.prepare('SELECT COUNT(*) AS n FROM jobs').get() as { n: number }).n === 2;
      } finally {
        db.close();
      }
    });
    run.kill('SIGKILL');
    await run;
    const again = await runPipeJson(['run', 'p.yaml', '--executor', 'slurm'], { cwd: ws.dir, timeoutMs: SLURM_RUN_MS });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(byStatus(again.doc)).toEqual({ ran: ['nap@i=1', 'nap@i=2'] });
    // The same two jobs, and no others, produced the outputs.
    const ids = before.map((j) => j.id).sort();
    expect((await jobsOf(ws.dir)).map((j) => j.id).sort()).toEqual(ids);
    expect(again.doc.instances.map((i) => readFileSync(i.outputs!.o, 'utf8').trim()).sort()).toEqual(ids);
    expect((await showRun(again.doc.run!)).instances.map((i) => i.jobId).sort()).toEqual(ids);
  });

  it('gpu: 1 asks Slurm for --gres=gpu:1 (pending here: the cluster has no GPU node up)', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', `
stages:
  gpu:
    run: [nvidia-smi]
    resources: { gpu: 1, cpu: 2, memory_mb: 700 }
`);
    const run = startRun([]);
    const [job] = await eventually(async () => {
      const j = await jobsOf(ws.dir);
      return j.length ? j : undefined;
    });
    const shown = (await execa('scontrol', ['show', 'job', job.id])).stdout;
    run.kill('SIGINT');
    await run;
    expect(shown).toMatch(/TresPerNode=gres:gpu:1/);
    expect(shown).toMatch(/NumCPUs=2/);
    expect(shown).toMatch(/mem=700M/);
    expect(job.state).toBe('PENDING');
  });

  it('the demo pipeline (a slice of it) gives the same keys and byte-identical outputs as a local run', async () => {
    ws = tempWorkspace();
    const demo = join(REPO_ROOT, 'pipelines', 'demo.yaml');
    // Two of the five datasets (WEBEmo and the smallest folder-per-class one) to evaluate on: every kind of
    // the slice still runs, on 240 images to embed instead of 840.
    const datasets = '[{ name: webemo, kind: ingest/webemo, layout: auto, taxonomies: [webemo2, webemo6, webemo25] }, { name: iaps, kind: ingest/folder-per-class, layout: iaps, taxonomies: [iaps2] }]';
    const args = ['run', demo, '-C', ws.dir, '--set', 'seeds=[0]', '--set', 'epochs=1', '--set', 'webemo_images=120', '--set', `datasets=${datasets}`, '--until', 'train-ce@seed=0,taxonomy=webemo2'];
    const slurm = await runPipeJson([...args, '--executor', 'slurm'], { cwd: ws.dir, timeoutMs: 300_000 });
    expect(slurm.exitCode, slurm.stderr).toBe(0);
    // Same workspace path for both: some outputs record absolute input paths.
    renameSync(ws.path('runs'), ws.path('runs-slurm'));
    const local = await runPipeJson(args, { cwd: ws.dir, timeoutMs: 300_000 });
    expect(local.exitCode, local.stderr).toBe(0);
    expect(slurm.doc.instances.map((i) => [i.id, i.status, i.key])).toEqual(local.doc.instances.map((i) => [i.id, i.status, i.key]));
    for (const i of local.doc.instances)
      for (const [name, path] of Object.entries(i.outputs ?? {})) {
        const other = path.replace(`${ws.dir}/runs/`, `${ws.dir}/runs-slurm/`);
        const diff = await execa('diff', ['-r', path, other], { reject: false });
        expect(diff.exitCode, `${i.id}:${name} differs`).toBe(0);
      }
  }, 600_000);
});
