// What a Slurm job runs, and the sbatch options of a stage. A command stage's job runs its argv directly
// (no node on the compute node); a built-in kind's job runs `pipe exec-instance` (worker.ts), and so does
// a command stage with secrets: its output must pass through the same masking filter as a local run's
// before it reaches the log, and a shell redirection cannot mask. Either way the job appends to the
// instance's log and ends by writing the result file atomically.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { quote } from 'shell-quote';
import type { SlurmOptions } from '../../pipeline/types.js';
import { commandSpec } from '../execute.js';
import type { Job } from '../executor.js';
import type { JobRequest } from './worker.js';

/** bin/pipe.js of this installation; compute nodes must see the same path (shared filesystem). */
const PIPE_BIN = fileURLToPath(new URL('../../../../bin/pipe.js', import.meta.url));

/** A job's private directory: outputs in out/, the request, the script and the result file. */
export interface TaskDir {
  readonly dir: string;
  readonly outDir: string;
  readonly result: string;
  readonly script: string;
}

export function taskDir(dir: string): TaskDir {
  return { dir, outDir: join(dir, 'out'), result: join(dir, 'result.json'), script: join(dir, 'job.sh') };
}

/** Whether the job runs `pipe exec-instance` (which then checks outputs and reads metrics itself). */
export function runsWorker(job: Job): boolean {
  return job.inst.kind !== undefined || job.prepared.secrets.length > 0;
}

/** Writes job.sh (and request.json when the job runs `pipe exec-instance`) into the task's directory. */
export function writeJobScript(job: Job, t: TaskDir): void {
  const lines = runsWorker(job) ? workerLines(job, t) : commandLines(job, t);
  writeFileSync(t.script, `#!/bin/bash\n${lines.join('\n')}\n`, { mode: 0o755 });
}

function workerLines(job: Job, t: TaskDir): string[] {
  const req: JobRequest = {
    pipeline: job.pipelineFile,
    sets: job.sets,
    workspace: job.workspace,
    instance: job.inst.id,
    prepared: job.prepared,
    outDir: t.outDir,
    logPath: job.logPath,
    resumeDir: job.resumeDir,
    kindCacheDir: job.kindCacheDir,
    run: job.run,
    result: t.result,
  };
  const request = join(t.dir, 'request.json');
  writeFileSync(request, JSON.stringify(req));
  return [`exec ${quote([process.execPath, PIPE_BIN, 'exec-instance', request])}`];
}

/** The command exactly as a local attempt runs it (execute.ts), output appended to the instance log. */
function commandLines(job: Job, t: TaskDir): string[] {
  const spec = commandSpec({ inst: job.inst, prepared: job.prepared, outDir: t.outDir, resumeDir: job.resumeDir });
  const dirs = [t.outDir, job.resumeDir, ...Object.values(job.inst.stage.outs ?? {}).map((rel) => join(t.outDir, rel, '..'))];
  const log = quote([job.logPath]);
  const run = spec.argv ? quote([...spec.argv]) : quote(['/bin/sh', '-c', spec.shellCommand ?? '']);
  const result = quote([t.result]);
  return [
    `cd ${quote([job.workspace])} || exit 1`,
    ...Object.entries(spec.env).map(([k, v]) => `export ${k}=${quote([v])}`),
    `mkdir -p ${quote(dirs)} ${quote([join(job.logPath, '..')])}`,
    `printf '%s\\n' ${quote([spec.banner])} >> ${log}`,
    `${run} >> ${log} 2>&1 < /dev/null`,
    'rc=$?',
    'if [ $rc -eq 0 ]; then st=succeeded; else st=failed; fi',
    `printf '{"status":"%s","exit_code":%d}\\n' "$st" "$rc" > ${result}.tmp && mv ${result}.tmp ${result}`,
    'exit $rc',
  ];
}

/** Slurm's --time from seconds: minutes, rounded up (Slurm counts time limits in minutes). */
export function slurmTime(seconds: number): string {
  return String(Math.max(1, Math.ceil(seconds / 60)));
}

/**
 * The sbatch options of a job: resources from the stage's demand, then the `slurm:` defaults (workspace
 * config, then pipeline file) overridden field by field by the stage's own `slurm:` block.
 */
export function sbatchOptions(job: Job, defaults: SlurmOptions, timeoutS: number | undefined): { args: string[]; time?: string } {
  const o: SlurmOptions = { ...defaults, ...job.inst.stage.slurm };
  const d = job.demand;
  const time = o.time ?? (timeoutS !== undefined ? slurmTime(timeoutS) : undefined);
  const args = [
    `--cpus-per-task=${Math.max(1, Math.ceil(d.cpu))}`,
    ...(d.memoryMb > 0 ? [`--mem=${Math.ceil(d.memoryMb)}M`] : []),
    ...(d.gpu > 0 ? [`--gres=gpu:${d.gpu}`] : []),
    ...(time ? [`--time=${time}`] : []),
    ...(o.partition ? [`--partition=${o.partition}`] : []),
    ...(o.account ? [`--account=${o.account}`] : []),
    ...(o.qos ? [`--qos=${o.qos}`] : []),
    ...(o.extra ?? []),
  ];
  return time ? { args, time } : { args };
}
