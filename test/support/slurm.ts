// The real one-node Slurm cluster the Slurm tests submit to: started by tools/slurm-single-node.sh (as
// root, installing slurm-wlm and munge with apt when missing) unless it is already up.
import { execa, execaSync } from 'execa';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { REPO_ROOT } from './workspace.js';

export function ensureSlurm(): void {
  const up = execaSync('sinfo', ['-h', '-o', '%T'], { reject: false });
  if (up.exitCode === 0 && /idle|mix|alloc/.test(up.stdout)) return;
  execaSync('bash', [join(REPO_ROOT, 'tools', 'slurm-single-node.sh')], { stdio: 'inherit' });
}

export interface ListedJob {
  readonly id: string;
  readonly state: string;
  readonly name: string;
}

/** Jobs Slurm still knows that `pipe run` submitted for this workspace (their --comment names it). */
export async function jobsOf(workspace: string): Promise<ListedJob[]> {
  const r = await execa('squeue', ['-h', '-r', '--states=all', '-o', '%i|%T|%j|%k']);
  return r.stdout
    .split('\n')
    .map((l) => l.split('|'))
    .filter((f) => f.length >= 4 && f.slice(3).join('|').endsWith(` in ${workspace}`))
    .map(([id, state, name]) => ({ id, state, name }));
}

/** Cancels what a test submitted and left queued or running (a failed assertion could leave sleepers). */
export async function cancelJobsOf(workspace: string): Promise<void> {
  const left = (await jobsOf(workspace)).filter((j) => ['PENDING', 'RUNNING'].includes(j.state));
  if (left.length) await execa('scancel', left.map((j) => j.id));
}

/** Polls `probe` every 250 ms until it returns a value (not undefined/false) or `ms` pass. */
export async function eventually<T>(probe: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  for (const end = Date.now() + ms; ; await sleep(250)) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`condition not met within ${ms / 1000}s`);
  }
}
