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
import { commandSpec, groupCommandSpec, type CommandSpec } from '../execute.js';
import { membersFile } from '../execute-group.js';
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

/** A group member's output directory inside the task: out/<index>. */
export function memberOutDir(t: TaskDir, i: number): string {
  return join(t.outDir, String(i));
}

/** job.sh of a group: exec-instance (a kind's runGroup; a command with secrets), or the command once for every member. */
export function writeGroupScript(jobs: readonly Job[], t: TaskDir): void {
  const lines = runsWorker(jobs[0]) ? workerLines(jobs[0], t, jobs) : commandGroupLines(jobs, t);
  writeFileSync(t.script, `#!/bin/bash\n${lines.join('\n')}\n`, { mode: 0o755 });
}

function workerLines(job: Job, t: TaskDir, group?: readonly Job[]): string[] {
  const members = group?.map((j, i) => ({ instance: j.inst.id, prepared: j.prepared, outDir: memberOutDir(t, i), logPath: j.logPath, resumeDir: j.resumeDir }));
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
    ...(members ? { members } : {}),
  };
  const request = join(t.dir, 'request.json');
  writeFileSync(request, JSON.stringify(req));
  return [`exec ${quote([process.execPath, PIPE_BIN, 'exec-instance', request])}`];
}

/** The command exactly as a local attempt runs it (execute.ts), output appended to the instance log. */
function commandLines(job: Job, t: TaskDir): string[] {
  const spec = commandSpec({ inst: job.inst, prepared: job.prepared, outDir: t.outDir, resumeDir: job.resumeDir });
  return shellLines(job.workspace, spec, [...outsDirs(job, t.outDir), job.resumeDir], [job.logPath], t.result);
}

/** A group's command, run once as a local group call runs it (execute-group.ts), output to every member's log. */
function commandGroupLines(jobs: readonly Job[], t: TaskDir): string[] {
  const members = jobs.map((j, i) => ({ inst: j.inst, outDir: memberOutDir(t, i), resumeDir: j.resumeDir }));
  const file = join(t.dir, 'members.json');
  writeFileSync(file, `${JSON.stringify(membersFile(members), null, 1)}\n`);
  const spec = groupCommandSpec(jobs[0].prepared, file);
  const dirs = jobs.flatMap((j, i) => [...outsDirs(j, memberOutDir(t, i)), j.resumeDir]);
  const banner = { ...spec, banner: `[pipe] group of ${jobs.length}: ${jobs.map((j) => j.inst.id).join(', ')}\n${spec.banner}` };
  return shellLines(jobs[0].workspace, banner, dirs, jobs.map((j) => j.logPath), t.result);
}

/** An output directory and the directories its declared outs are written into. */
function outsDirs(job: Job, outDir: string): string[] {
  return [outDir, ...Object.values(job.inst.stage.outs ?? {}).map((rel) => join(outDir, rel, '..'))];
}

/** The job script of a command: its output appended to every log in `logs`, then the result file. */
function shellLines(workspace: string, spec: CommandSpec, dirs: string[], logs: string[], resultPath: string): string[] {
  const log = quote([logs[0]]);
  const run = spec.argv ? quote([...spec.argv]) : quote(['/bin/sh', '-c', spec.shellCommand ?? '']);
  const result = quote([resultPath]);
  // More than one log: tee copies the output to the others; the command's own exit status is kept.
  const into = logs.length > 1 ? `2>&1 < /dev/null | tee -a ${quote(logs.slice(1))} >> ${log}; rc=\${PIPESTATUS[0]}` : `>> ${log} 2>&1 < /dev/null; rc=$?`;
  return [
    `cd ${quote([workspace])} || exit 1`,
    ...Object.entries(spec.env).map(([k, v]) => `export ${k}=${quote([v])}`),
    `mkdir -p ${quote(dirs)} ${quote([...new Set(logs.map((l) => join(l, '..')))])}`,
    ...logs.map((l) => `printf '%s\\n' ${quote([spec.banner])} >> ${quote([l])}`),
    `${run} ${into}`,
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
