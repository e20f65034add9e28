// group_by under --executor slurm, on a real one-node Slurm (tools/slurm-single-node.sh): a group is one job.
import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { byStatus, PIPE_BIN, runPipe, runPipeJson, tempWorkspace, type TempWorkspace } from '../support/index.js';
import { cancelJobsOf, ensureSlurm, eventually, jobsOf } from '../support/slurm.js';

let ws: TempWorkspace;
beforeAll(() => ensureSlurm());
afterEach(async () => {
  // Nothing a test submitted may outlive it.
  await cancelJobsOf(ws.dir);
  ws.cleanup();
});

// Writes, for every member, the Slurm job it ran in; one line per call in calls.log. With a file
// `wait` in the workspace it first waits for a file `go`.
const TRAINER = `
import fs from 'node:fs';
const { members } = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
fs.appendFileSync('calls.log', members.map((m) => m.id).join(' ') + '\\n');
console.log('group of ' + members.length + (process.env.TOKEN ? ' token ' + process.env.TOKEN : ''));
if (fs.existsSync('wait')) while (!fs.existsSync('go')) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
for (const m of members) fs.writeFileSync(m.outs.o, JSON.stringify({ seed: m.matrix.seed, job: process.env.SLURM_JOB_ID }));
`;

const PIPELINE = `
params: { seeds: [0, 1, 2] }
stages:
  train:
    matrix: { seed: "\${params.seeds}" }
    group_by: [seed]
    run: [node, "\${deps.trainer}", "\${group.members}"]
    deps: { trainer: trainer.mjs }
    outs: { o: o.json }
`;

describe('group_by under the Slurm executor', () => {
  it('the uncached members of a group run as one Slurm job; each is committed under its own key', async () => {
    ws = tempWorkspace();
    ws.write('trainer.mjs', TRAINER);
    ws.write('p.yaml', PIPELINE);
    const r = await runPipeJson(['run', 'p.yaml', '--executor', 'slurm'], { cwd: ws.dir, timeoutMs: 400_000 });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(byStatus(r.doc)).toEqual({ ran: ['train@seed=0', 'train@seed=1', 'train@seed=2'] });
    const shown = JSON.parse((await runPipe(['show', String(r.doc.run), '--json'], { cwd: ws.dir })).stdout) as { instances: { instanceId: string; executor: string; jobId: string }[] };
    const jobIds = new Set(shown.instances.map((i) => i.jobId));
    expect(jobIds.size).toBe(1);
    const [jobId] = jobIds;
    expect(shown.instances.every((i) => i.executor === 'slurm')).toBe(true);
    for (const [seed, inst] of r.doc.instances.entries()) {
      expect(JSON.parse(readFileSync(inst.outputs!.o, 'utf8'))).toEqual({ seed, job: jobId });
      expect(readFileSync(ws.path(inst.log!), 'utf8')).toMatch(/^group of 3$/m);
    }
    expect(readFileSync(ws.path('calls.log'), 'utf8')).toBe('train@seed=0 train@seed=1 train@seed=2\n');

    // Two more seeds: the cached three are not passed; the new two are one more job.
    const more = await runPipeJson(['run', 'p.yaml', '--executor', 'slurm', '--set', 'seeds=[0,1,2,3,4]'], { cwd: ws.dir, timeoutMs: 400_000 });
    expect(byStatus(more.doc)).toEqual({ cached: ['train@seed=0', 'train@seed=1', 'train@seed=2'], ran: ['train@seed=3', 'train@seed=4'] });
    expect(readFileSync(ws.path('calls.log'), 'utf8').split('\n')[1]).toBe('train@seed=3 train@seed=4');
    const jobs = more.doc.instances.filter((i) => i.status === 'ran').map((i) => (JSON.parse(readFileSync(i.outputs!.o, 'utf8')) as { job: string }).job);
    expect(new Set(jobs).size).toBe(1);
    // The cluster is shared with other tests' jobs: waiting in its queue takes what it takes.
  }, 900_000);

  it('a group with secrets runs through pipe exec-instance: one job, the output masked in every member log', async () => {
    ws = tempWorkspace();
    ws.write('trainer.mjs', TRAINER);
    ws.write('p.yaml', PIPELINE.replace('    outs: { o: o.json }', '    outs: { o: o.json }\n    secrets: [TOKEN]'));
    const r = await runPipeJson(['run', 'p.yaml', '--executor', 'slurm'], { cwd: ws.dir, timeoutMs: 400_000, env: { TOKEN: 'hunter2-secret' } });
    expect(r.exitCode, r.stderr).toBe(0);
    const jobs = r.doc.instances.map((i) => (JSON.parse(readFileSync(i.outputs!.o, 'utf8')) as { job: string }).job);
    expect(new Set(jobs).size).toBe(1);
    for (const i of r.doc.instances) {
      const log = readFileSync(ws.path(i.log!), 'utf8');
      expect(log).toMatch(/^group of 3 token \*\*\*$/m);
      expect(log).not.toMatch(/hunter2/);
    }
  }, 900_000);

  it('a controller killed with SIGKILL re-attaches to the group job: every member finishes, nothing runs twice', async () => {
    ws = tempWorkspace();
    ws.write('trainer.mjs', TRAINER);
    ws.write('p.yaml', PIPELINE);
    ws.write('wait', '');
    const run = execa(process.execPath, [PIPE_BIN, 'run', 'p.yaml', '--executor', 'slurm'], { cwd: ws.dir, env: { CI: '1' }, reject: false });
    // Killed while the job runs (the trainer has started), its id recorded for each member.
    await eventually(async () => existsSync(ws.path('calls.log')), 600_000);
    run.kill('SIGKILL');
    await run;
    const [job] = await jobsOf(ws.dir);
    ws.write('go', '');
    const again = await runPipeJson(['run', 'p.yaml', '--executor', 'slurm'], { cwd: ws.dir, timeoutMs: 400_000 });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(byStatus(again.doc)).toEqual({ ran: ['train@seed=0', 'train@seed=1', 'train@seed=2'] });
    expect(readFileSync(ws.path('calls.log'), 'utf8')).toBe('train@seed=0 train@seed=1 train@seed=2\n');
    for (const inst of again.doc.instances) expect(JSON.parse(readFileSync(inst.outputs!.o, 'utf8'))).toMatchObject({ job: job.id });
    const status = await runPipe(['status', 'p.yaml', '--verify'], { cwd: ws.dir });
    expect(status.stdout).toMatch(/3 up to date, 0 stale, 0 new, 0 pending/);
  }, 900_000);
});
