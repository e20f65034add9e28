// The Slurm command-line client: sbatch, squeue, sacct, scancel, scontrol, each called with machine-
// readable output (`--parsable`, `-h -o`) so chatty site banners cannot break parsing. Every call is one
// process for all jobs, never one per job: schedulers are shared, and admins count RPCs.
import { userInfo } from 'node:os';

/** Slurm could not be reached or refused a request: the message says what to check. */
export class SlurmError extends Error {
  override readonly name = 'SlurmError';
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export interface JobState {
  /** `123` or, for an array task, `123_4`. */
  readonly id: string;
  /** Slurm's base state: PENDING, RUNNING, COMPLETED, TIMEOUT, ... (`CANCELLED by 0` -> CANCELLED). */
  readonly state: string;
  /** Why pending, or Slurm's reason for the end (squeue %r). */
  readonly reason: string;
}

async function call(cmd: string, args: readonly string[], timeoutMs = 60_000): Promise<string> {
  // Loaded on the first Slurm call, not with the engine: execa and its dependencies are about 0.15 s of
  // CPU to load, which every `pipe` command that imports the engine would pay for nothing when local.
  const { execa } = await import('execa');
  const r = await execa(cmd, args, { reject: false, timeout: timeoutMs, stdin: 'ignore' });
  if (r.failed) {
    const why = r.code === 'ENOENT' ? 'is not installed' : r.timedOut ? `timed out after ${timeoutMs / 1000}s` : `failed: ${String(r.stderr || r.shortMessage).trim()}`;
    throw new SlurmError(`${cmd} ${why}`, r.code === 'ENOENT' ? 'run on a Slurm login node, or use --executor local' : 'is slurmctld up? `sinfo` shows the cluster');
  }
  return r.stdout;
}

/** Transient controller errors ("Socket timed out", "Unexpected message") are retried, not fatal. */
async function retrying<T>(what: () => Promise<T>, tries = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await what();
    } catch (e) {
      if (i >= tries || !(e instanceof SlurmError) || /not installed/.test(e.message)) throw e;
      await new Promise((r) => setTimeout(r, 1000 * i));
    }
  }
}

/** Submits a batch script; returns the job id (an array's base id). */
export async function sbatch(args: readonly string[], script: string): Promise<string> {
  const out = await retrying(() => call('sbatch', ['--parsable', ...args, script]));
  // --parsable prints `id` or `id;cluster`.
  const id = out.trim().split('\n').pop()?.split(';')[0] ?? '';
  if (!/^\d+$/.test(id)) throw new SlurmError(`sbatch printed no job id: ${JSON.stringify(out)}`, 'check the sbatch options in the stage\'s slurm: block');
  return id;
}

/** Every job of this user still known to slurmctld (queued, running, or ended < MinJobAge ago), one call. */
export async function queue(): Promise<Map<string, JobState>> {
  const out = await call('squeue', ['-h', '-r', '--states=all', '-u', userInfo().username, '-o', '%i|%T|%r']);
  return parseRows(out);
}

/** End states from accounting, for jobs squeue no longer lists (one call for all of them). */
export async function accounting(ids: readonly string[]): Promise<Map<string, JobState>> {
  if (!ids.length) return new Map();
  const out = await call('sacct', ['-X', '-n', '-P', '-o', 'JobID,State,Reason', '-j', ids.join(',')]);
  return parseRows(out);
}

function parseRows(out: string): Map<string, JobState> {
  const m = new Map<string, JobState>();
  for (const line of out.split('\n')) {
    const [id, state, reason = ''] = line.trim().split('|');
    if (id && state) m.set(id, { id, state: state.split(' ')[0].replace(/\+$/, ''), reason });
  }
  return m;
}

/** Cancels jobs, 100 ids per call (a long argv and a long slurmctld lock help no one). */
export async function scancel(ids: readonly string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 100) await call('scancel', ids.slice(i, i + 100), 60_000).catch(() => undefined);
}

/** Whether slurmdbd accounting is configured (then sacct knows jobs squeue has forgotten). */
export async function accountingEnabled(): Promise<boolean> {
  const out = await call('scontrol', ['show', 'config']).catch(() => '');
  const m = /^AccountingStorageType\s*=\s*(\S+)/m.exec(out);
  return !!m && m[1] !== 'accounting_storage/none';
}
