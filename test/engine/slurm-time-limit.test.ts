// A Slurm job over its time limit (a file of its own: Slurm counts limits in minutes and checks them every
// 30 s, so this test mostly waits, 60-100 s, and runs beside the other files instead of after the other
// Slurm tests). tools/slurm-single-node.sh starts the one-node cluster.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runPipeJson, tempWorkspace, type TempWorkspace } from '../support/index.js';
import { cancelJobsOf, ensureSlurm } from '../support/slurm.js';

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
    // Slurm counts limits in minutes and checks them every 30 s: this takes 60-100 s.
    const r = await runPipeJson(['run', 'p.yaml', '--executor', 'slurm'], { cwd: ws.dir, timeoutMs: 240_000 });
    expect(r.exitCode).toBe(1);
    expect(r.doc.instances[0].error).toBe('Slurm job exceeded its time limit (--time=1)');
    expect(r.doc.instances[0].log_tail?.join('\n')).toMatch(/DUE TO TIME LIMIT/);
  }, 300_000);
});
