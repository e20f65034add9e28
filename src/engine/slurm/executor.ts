// The Slurm executor: every attempt is a cluster job. Attempts of one stage that become ready together
// are submitted as one job array (one sbatch for a whole matrix, instead of one per instance); jobs are
// recorded in the store the moment they are submitted, so a controller killed with SIGKILL re-attaches
// to them on the next run; an interrupted run cancels every job it submitted.
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StageError, type MetricRow } from '../../stage-api.js';
import type { SlurmOptions } from '../../pipeline/types.js';
import type { JobRow } from '../../store/types.js';
import { checkCommandOutputs, commandFailed, declaredMetrics } from '../execute.js';
import type { Done, Executor, Job, MemberDone } from '../executor.js';
import type { Layout } from '../layout.js';
import { ResourcePool, type Demand } from '../pool.js';
import { sbatch, scancel } from './client.js';
import { Poller, type Ended } from './poller.js';
import { memberOutDir, runsWorker, sbatchOptions, taskDir, writeGroupScript, writeJobScript, type TaskDir } from './script.js';
import { phaseOf } from './states.js';
import type { JobResult } from './worker.js';

/** Where submitted jobs are recorded (the store's `jobs` table). */
export interface JobRecords {
  record(row: JobRow): void;
  find(key: string): JobRow | undefined;
  forget(key: string, jobId: string): void;
}

export interface SlurmExecOptions {
  /** Most jobs of this run in the queue at once (--jobs). */
  readonly maxJobs?: number | undefined;
  /** `slurm:` defaults of the workspace config and the pipeline file (stages override them). */
  readonly defaults?: SlurmOptions | undefined;
}

/** Default --jobs under Slurm: the queue, not this machine's cores, is the limit. */
export const DEFAULT_MAX_JOBS = 1000;
/** A job lost to NODE_FAIL/PREEMPTED/BOOT_FAIL is submitted again at most this many times. */
const MAX_RESUBMITS = 2;
/** How long a result file may take to appear after Slurm says the job completed (NFS attribute caches). */
const LATENCY_WAIT_MS = 10_000;
/** Attempts that became ready within this window are submitted together (one array per stage). */
const BATCH_WINDOW_MS = 50;
/** Slurm's default MaxArraySize is 1001: index 0..1000. */
const MAX_ARRAY = 1000;

interface Pending {
  readonly job: Job;
  readonly task: TaskDir;
  readonly args: string[];
  readonly submitted: (id: string) => void;
  readonly failed: (e: unknown) => void;
}

export class SlurmExecutor implements Executor {
  readonly name = 'slurm';
  private readonly pool: ResourcePool;
  private readonly poller = new Poller();
  private readonly batches = new Map<string, Pending[]>();
  private flushTimer: NodeJS.Timeout | undefined;
  private cancelled: Promise<void> | undefined;

  constructor(
    private readonly layout: Layout,
    private readonly signal: AbortSignal,
    private readonly records: JobRecords,
    private readonly o: SlurmExecOptions,
  ) {
    this.pool = new ResourcePool({ cpu: Math.max(1, o.maxJobs ?? DEFAULT_MAX_JOBS), gpu: 0, memoryMb: 0 });
    signal.addEventListener('abort', () => void this.cancelAll(), { once: true });
  }

  /** Only the number of queued jobs is limited here; cpus, memory and gpus are Slurm's to schedule. */
  acquire(_demand: Demand): Promise<() => void> {
    return this.pool.acquire({ cpu: 1, gpu: 0, memoryMb: 0 });
  }

  run(job: Job): Promise<Done> {
    return this.submitted({ jobs: [job], write: (t) => writeJobScript(job, t), read: (t, id, ended) => this.outcome(job, t, id, ended) });
  }

  /** A group is one job: exec-instance calls the kind's runGroup, or the command runs once. */
  runGroup(jobs: readonly Job[]): Promise<MemberDone[]> {
    return this.submitted({ jobs, write: (t) => writeGroupScript(jobs, t), read: (t, id, ended) => this.groupOutcome(jobs, t, id, ended) });
  }

  /** The work's job: an earlier controller's (re-attached), else submitted, and again when Slurm lost it. */
  private async submitted<T>(w: Work<T>): Promise<T> {
    const first = w.jobs[0];
    const earlier = this.earlierJob(w.jobs);
    if (earlier) {
      const adopted = await this.reattach(w, earlier);
      if (adopted) return adopted;
    }
    for (let resubmits = 0; ; resubmits++) {
      const task = this.newTask(first);
      w.write(task);
      const id = await this.submit(w.jobs, task);
      const ended = await this.poller.wait(id, task.result);
      try {
        return await w.read(task, id, ended);
      } catch (e) {
        if (!(e instanceof Resubmit) || resubmits >= MAX_RESUBMITS) {
          rmSync(task.dir, { recursive: true, force: true });
          throw e instanceof Resubmit ? new StageError(`Slurm job ${id} was lost ${resubmits + 1} times: ${e.why}`, 'the cluster is unstable; check `sinfo -R` and run again') : e;
        }
        for (const j of w.jobs) logLine(j, `[pipe] Slurm job ${id} was lost (${e.why}): submitting it again`);
      } finally {
        for (const j of w.jobs) this.records.forget(j.prepared.key, id);
      }
    }
  }

  /**
   * The job an earlier controller (killed) submitted for exactly this work: every key recorded with one
   * job id. A record that does not fit (the group changed since) is forgotten; that job's outputs go
   * to its own directory and are never committed.
   */
  private earlierJob(jobs: readonly Job[]): JobRow | undefined {
    const rows = jobs.map((j) => this.records.find(j.prepared.key));
    const first = rows[0];
    if (first && rows.every((r) => r?.jobId === first.jobId)) return first;
    for (const r of rows) if (r) this.records.forget(r.key, r.jobId);
    return undefined;
  }

  async close(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    await this.cancelled;
  }

  /** A job of an earlier controller (killed) for this work: wait for it; anything but success is redone. */
  private async reattach<T>(w: Work<T>, rec: JobRow): Promise<T | undefined> {
    const task = taskDir(rec.dir);
    for (const j of w.jobs) {
      j.onSubmitted?.(rec.jobId);
      logLine(j, `[pipe] re-attached to Slurm job ${rec.jobId}, submitted by run ${rec.runId} (its output goes to that run's log)`);
    }
    try {
      return await w.read(task, rec.jobId, await this.poller.wait(rec.jobId, task.result));
    } catch (e) {
      if (this.signal.aborted) throw e;
      rmSync(task.dir, { recursive: true, force: true });
      return undefined;
    } finally {
      for (const j of w.jobs) this.records.forget(j.prepared.key, rec.jobId);
    }
  }

  private newTask(job: Job): TaskDir {
    const t = taskDir(join(this.layout.jobs, `${job.prepared.key}.${randomBytes(4).toString('hex')}`));
    mkdirSync(t.outDir, { recursive: true });
    return t;
  }

  private options(job: Job): { args: string[]; time?: string } {
    return sbatchOptions(job, this.o.defaults ?? {}, job.timeoutMs === undefined ? undefined : job.timeoutMs / 1000);
  }

  /** Queues the attempt (or group) for the next array of its stage; resolves with its job id once submitted. */
  private submit(jobs: readonly Job[], task: TaskDir): Promise<string> {
    const job = jobs[0];
    const { args } = this.options(job);
    const group = `${job.inst.stage.name}\0${args.join('\0')}`;
    return new Promise<string>((submitted, failed) => {
      const list = this.batches.get(group) ?? [];
      list.push({ job, task, args, submitted, failed });
      this.batches.set(group, list);
      if (this.flushTimer) clearTimeout(this.flushTimer);
      this.flushTimer = setTimeout(() => void this.flush(), BATCH_WINDOW_MS);
    }).then((id) => {
      for (const j of jobs) {
        this.records.record({ key: j.prepared.key, jobId: id, dir: task.dir, instanceId: j.inst.id, runId: j.run.id, submittedAt: Date.now() });
        j.onSubmitted?.(id);
      }
      this.poller.soon();
      return id;
    });
  }

  private async flush(): Promise<void> {
    this.flushTimer = undefined;
    const groups = [...this.batches.values()];
    this.batches.clear();
    for (const list of groups)
      for (let i = 0; i < list.length; i += MAX_ARRAY) await this.submitArray(list.slice(i, i + MAX_ARRAY));
  }

  /** One sbatch for attempts of one stage with identical options: a job array when there are several. */
  private async submitArray(list: Pending[]): Promise<void> {
    if (this.signal.aborted) {
      for (const p of list) p.failed(new StageError('interrupted'));
      return;
    }
    const first = list[0].job;
    mkdirSync(join(this.layout.jobs, 'slurm-out'), { recursive: true });
    const script = join(this.layout.jobs, `submit.${randomBytes(6).toString('hex')}.sh`);
    // The batch script picks the task's own job.sh by array index; Slurm keeps a copy of it at submission.
    const tasks = list.map((p) => `'${p.task.script.replace(/'/g, `'\\''`)}'`).join(' ');
    writeFileSync(script, `#!/bin/bash\ntasks=(${tasks})\nexec bash "\${tasks[\${SLURM_ARRAY_TASK_ID:-0}]}"\n`);
    const array = list.length > 1;
    const common = [
      `--job-name=pipe:${first.inst.stage.name}`,
      `--comment=pipe run ${first.run.id} in ${first.workspace}`,
      `--chdir=${first.workspace}`,
      `--output=${join(this.layout.jobs, 'slurm-out', array ? 'slurm-%A_%a.out' : 'slurm-%j.out')}`,
      // A requeued job would rerun into the same directory behind the controller's back; it resubmits.
      '--no-requeue',
      '--export=ALL',
      ...(array ? [`--array=0-${list.length - 1}`] : []),
    ];
    try {
      const id = await sbatch([...common, ...list[0].args], script);
      list.forEach((p, i) => p.submitted(array ? `${id}_${i}` : id));
    } catch (e) {
      for (const p of list) p.failed(e);
    } finally {
      rmSync(script, { force: true });
    }
  }

  /** Turns how the job ended into outputs or a StageError (the same wording as a local failure). */
  private async outcome(job: Job, task: TaskDir, id: string, ended: Ended): Promise<Done> {
    const result = await this.finished(job, task, id, ended);
    const done = this.adopt(job, task.outDir, result.metrics);
    rmSync(task.dir, { recursive: true, force: true });
    return done;
  }

  /** Each member's outputs (task out/<i>) or why it failed; throws when the whole job failed. */
  private async groupOutcome(jobs: readonly Job[], task: TaskDir, id: string, ended: Ended): Promise<MemberDone[]> {
    const result = await this.finished(jobs[0], task, id, ended);
    const out = jobs.map((job, i): MemberDone => {
      const m = result.members?.[i];
      try {
        if (m?.status === 'failed') throw new StageError(m.error ?? 'failed', m.hint);
        return { done: this.adopt(job, memberOutDir(task, i), m?.metrics) };
      } catch (e) {
        return { error: e };
      }
    });
    rmSync(task.dir, { recursive: true, force: true });
    return out;
  }

  /** The result file of a job that ended; throws StageError (or Resubmit) when the job failed as a whole. */
  private async finished(job: Job, task: TaskDir, id: string, ended: Ended): Promise<JobResult> {
    this.collectSlurmOutput(job, id);
    if (ended.state === 'INTERRUPTED') throw new StageError('interrupted');
    const phase = ended.state === 'ENDED' || ended.state === 'VANISHED' ? { phase: 'ended' as const } : phaseOf(ended.state, this.options(job).time);
    if (phase.phase === 'retry') throw new Resubmit(phase.why);
    if (phase.phase === 'failed') throw new StageError(phase.error, phase.hint);
    const result = await readResult(task.result, ended.state === 'COMPLETED' ? LATENCY_WAIT_MS : 0);
    if (!result)
      throw new StageError(
        `Slurm job ${id} ended (${ended.state === 'VANISHED' ? 'no longer listed by Slurm' : ended.state}) without writing its result`,
        `see the log, and \`sacct -j ${id}\` where accounting is on`,
      );
    if (result.status === 'failed') {
      if (runsWorker(job)) throw new StageError(result.error ?? 'failed', result.hint);
      throw commandFailed({ exitCode: result.exit_code, other: 'failed' });
    }
    return result;
  }

  /**
   * A finished attempt's outputs, checked and moved into runs/tmp under this controller's pid, like a
   * local attempt: if the controller dies before the commit, the next run removes them. A command job's
   * declared outs and metrics:/plots: files are read here, by the controller, as a local run reads them;
   * `pipe exec-instance` read them on the node already (`workerMetrics`).
   */
  private adopt(job: Job, dir: string, workerMetrics: MetricRow[] | undefined): Done {
    const worker = runsWorker(job);
    if (!worker) checkCommandOutputs(job.inst, dir);
    // Not fsynced here: the commit fsyncs the whole entry before renaming it into the store (commit.ts).
    const metrics = worker ? (workerMetrics ?? []) : declaredMetrics(job.inst, dir);
    const outDir = join(this.layout.tmp, `${job.prepared.key}.${process.pid}.${randomBytes(4).toString('hex')}`);
    mkdirSync(this.layout.tmp, { recursive: true });
    renameSync(dir, outDir);
    return { outDir, metrics };
  }

  /** Slurm's own messages about the job (time limit, OOM kill, cancellation) go to the instance log. */
  private collectSlurmOutput(job: Job, id: string): void {
    const file = join(this.layout.jobs, 'slurm-out', `slurm-${id}.out`);
    try {
      const text = readFileSync(file, 'utf8').trim();
      if (text) logLine(job, text.split('\n').map((l) => `[slurm] ${l}`).join('\n'));
      unlinkSync(file);
    } catch {
      // No output (the job wrote none, or it ran on a node whose file is not visible yet).
    }
  }

  /** Ctrl-C/SIGTERM: every job still queued or running is cancelled, in batches of 100. */
  private cancelAll(): Promise<void> {
    const ids = this.poller.liveIds();
    this.poller.interruptAll();
    this.cancelled = scancel(ids);
    return this.cancelled;
  }
}

/** What one Slurm job does: one attempt, or the call of a group. */
interface Work<T> {
  readonly jobs: readonly Job[];
  /** Writes job.sh (and its request) into the task's directory. */
  write(t: TaskDir): void;
  /** The outcome once the job ended. */
  read(t: TaskDir, id: string, ended: Ended): Promise<T>;
}

/** The job was lost through no fault of the stage: submit it again. */
class Resubmit extends Error {
  constructor(readonly why: string) {
    super(why);
  }
}

function logLine(job: Job, text: string): void {
  mkdirSync(dirname(job.logPath), { recursive: true });
  appendFileSync(job.logPath, `${text}\n`);
}

async function readResult(path: string, waitMs: number): Promise<JobResult | undefined> {
  for (const until = Date.now() + waitMs; ; await sleep(200)) {
    if (existsSync(path)) return JSON.parse(readFileSync(path, 'utf8')) as JobResult;
    if (Date.now() >= until) return undefined;
  }
}
