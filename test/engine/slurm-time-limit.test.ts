// A Slurm job over its time limit (a file of its own: it mostly waits on Slurm, and so runs beside the
// other files instead of after the other Slurm tests). tools/slurm-single-node.sh starts the one-node cluster.
import { execa } from 'execa';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PIPE_BIN, tempWorkspace, type TempWorkspace } from '../support/index.js';
import { cancelJobsOf, ensureSlurm, eventually, jobsOf } from '../support/slurm.js';

let ws: TempWorkspace;
beforeAll(() => ensureSlurm());
afterEach(async () => {
  // Nothing a test submitted may outlive it.
  await cancelJobsOf(ws.dir);
  ws.cleanup();
});

describe('pipe run --executor slurm', () => {
  it('a job over its time limit fails as TIMEOUT', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', `
stages:
  slow:
    run: [sleep, '600']
    slurm: { time: '1' }
`);
    const run = execa(process.execPath, [PIPE_BIN, 'run', 'p.yaml', '--executor', 'slurm', '--json'], { cwd: ws.dir, env: { CI: '1' }, reject: false, timeout: 240_000 });
    // The job runs with the limit pipe asked for (a job may queue behind other tests' jobs first).
    const job = await eventually(async () => (await jobsOf(ws.dir)).find((j) => j.state === 'RUNNING'), 180_000);
    expect((await execa('scontrol', ['show', 'job', job.id])).stdout).toMatch(/TimeLimit=00:01:00\b/);
    // Slurm counts limits in minutes and checks them every 30 s, so a 1-minute limit ends the job 60-90 s
    // in. Lowered to 0 now, it is the same TIMEOUT (slurmctld's own check, its log line, the job state)
    // at the next check, within 30 s.
    await execa('scontrol', ['update', `JobId=${job.id}`, 'TimeLimit=0']);
    const r = await run;
    expect(r.exitCode, r.stderr).toBe(1);
    const doc = JSON.parse(r.stdout) as { instances: { error?: string; log_tail?: string[] }[] };
    expect(doc.instances[0].error).toBe('Slurm job exceeded its time limit (--time=1)');
    expect(doc.instances[0].log_tail?.join('\n')).toMatch(/DUE TO TIME LIMIT/);
  }, 300_000);
});
