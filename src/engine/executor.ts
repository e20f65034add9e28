// Where an instance's attempt runs. The runner decides what must run, takes the key's lock, and commits;
// an executor only admits attempts (resources) and produces a finished output directory. `local` runs
// in this process and its children; `slurm` (slurm/executor.ts) submits each attempt as a cluster job.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { join } from 'node:path';
import { StageError, type MetricRow, type Progress, type RunInfo } from '../stage-api.js';
import type { HashCache } from '../hash/cache.js';
import type { Instance } from '../pipeline/types.js';
import { execute } from './execute.js';
import { executeGroup } from './execute-group.js';
import type { Prepared } from './keys.js';
import type { Layout } from './layout.js';
import { ResourcePool, type Demand } from './pool.js';
import type { Usage } from './usage.js';

export type ExecutorName = 'local' | 'slurm';

/** One attempt of one instance, as the runner hands it over (the key's lock is held). */
export interface Job {
  readonly inst: Instance;
  readonly prepared: Prepared;
  readonly demand: Demand;
  /** The stage's timeout_s (local: a timer ends the attempt; slurm: the job's --time). */
  readonly timeoutMs: number | undefined;
  readonly workspace: string;
  /** The pipeline file (absolute) and its `--set`s: a Slurm job loads the pipeline the same way. */
  readonly pipelineFile: string;
  readonly sets: readonly string[];
  readonly run: RunInfo;
  readonly logPath: string;
  readonly resumeDir: string;
  /** Local: makes the resume dir, reusing a spare one (resume.ts). */
  readonly makeResumeDir?: (dir: string) => Promise<void>;
  readonly kindCacheDir: string;
  readonly hashes: HashCache;
  readonly onProgress: (p: Progress) => void;
  readonly onLog?: (line: string) => void;
  /** Where secrets' values come from (the runner's environment). */
  readonly env: NodeJS.ProcessEnv;
  /** Local: called with a command's process group as soon as it is spawned. */
  readonly onSpawn?: (pgid: number) => void;
  /** Slurm: called with the job id as soon as it is known (recorded with the instance). */
  readonly onSubmitted?: (jobId: string) => void;
}

/** A finished attempt: its outputs sit in `outDir`, to be committed (fsynced, renamed into the store: commit.ts). */
export interface Done {
  readonly outDir: string;
  readonly metrics: MetricRow[];
  /** What the attempt used (usage.ts); absent where it is not measured (Slurm). */
  readonly usage?: Usage | null;
}

/** One member's outcome of a group call: its outputs, or why it failed. */
export type MemberDone = { readonly done: Done } | { readonly error: unknown };

export interface Executor {
  readonly name: ExecutorName;
  /** Waits until the attempt may start (local: cpu/gpu/memory slots; slurm: the cap on queued jobs). */
  acquire(demand: Demand): Promise<() => void>;
  /**
   * Runs the attempt. Throws StageError when it fails; an attempt stopped by the run's abort signal
   * throws too (the runner tells the two apart by the signal). Failed attempts leave no output dir.
   */
  run(job: Job): Promise<Done>;
  /**
   * Runs the members of a group in one call (local: one command or `runGroup`; slurm: one job), each
   * job holding one member (its key's lock is held); the first job's demand and timeout apply to the
   * call. One outcome per job, in order; throwing fails every member.
   */
  runGroup(jobs: readonly Job[]): Promise<MemberDone[]>;
  /** Stops what is still running (the run was interrupted) and releases the executor's resources. */
  close(): Promise<void>;
}

export interface LocalOptions {
  /** CPU slots (default: os.availableParallelism()). */
  readonly jobs?: number | undefined;
  readonly gpus?: number | undefined;
  readonly memoryMb?: number | undefined;
}

/** Attempts run here: built-in kinds in-process, commands as child processes, under a resource pool. */
export class LocalExecutor implements Executor {
  readonly name = 'local';
  private readonly pool: ResourcePool;

  constructor(
    private readonly layout: Layout,
    private readonly signal: AbortSignal,
    o: LocalOptions,
  ) {
    this.pool = new ResourcePool({
      cpu: Math.max(1, o.jobs ?? availableParallelism()),
      gpu: Math.max(0, o.gpus ?? 1),
      memoryMb: o.memoryMb ?? Math.floor(totalmem() / 2 ** 20),
    });
  }

  acquire(demand: Demand): Promise<() => void> {
    return this.pool.acquire(demand);
  }

  /**
   * A timeout aborts the attempt alone: a command's whole process group is ended (SIGTERM, then SIGKILL),
   * a built-in kind stops at its next check of ctx.signal.
   */
  async run(job: Job): Promise<Done> {
    const outDir = this.tmpDir(job.prepared.key);
    try {
      const { metrics, usage } = await this.stoppable(job.timeoutMs, (signal) => execute({ ...job, outDir, signal }));
      return { outDir, metrics, usage };
    } catch (e) {
      rmSync(outDir, { recursive: true, force: true });
      throw e;
    }
  }

  async runGroup(jobs: readonly Job[]): Promise<MemberDone[]> {
    const outDirs = jobs.map((j) => this.tmpDir(j.prepared.key));
    const membersFile = `${this.tmpDir('group')}.json`;
    try {
      const results = await this.stoppable(jobs[0].timeoutMs, (signal) =>
        executeGroup({ members: jobs.map((j, i) => ({ ...j, outDir: outDirs[i], signal })), membersFile }),
      );
      return results.map((r, i) => {
        if ('error' in r) {
          rmSync(outDirs[i], { recursive: true, force: true });
          return r;
        }
        return { done: { outDir: outDirs[i], metrics: r.metrics, usage: r.usage } };
      });
    } catch (e) {
      for (const d of outDirs) rmSync(d, { recursive: true, force: true });
      throw e;
    } finally {
      rmSync(membersFile, { force: true });
    }
  }

  /** <pid> in the name: a later run removes the directories of dead processes (cleanStaleTmp). */
  private tmpDir(key: string): string {
    return join(this.layout.tmp, `${key}.${process.pid}.${randomBytes(4).toString('hex')}`);
  }

  /** Runs `fn` with a signal that the run's interruption or the attempt's time limit aborts. */
  private async stoppable<T>(timeoutMs: number | undefined, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const stop = new AbortController();
    const onAbort = (): void => stop.abort();
    if (this.signal.aborted) stop.abort();
    else this.signal.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => ((timedOut = true), stop.abort()), timeoutMs);
    try {
      return await fn(stop.signal);
    } catch (e) {
      if (timedOut) throw new StageError(`timed out after ${timeoutMs! / 1000} s`, 'raise timeout_s:, or make the stage faster (its processes were ended)');
      throw e;
    } finally {
      clearTimeout(timer);
      this.signal.removeEventListener('abort', onAbort);
    }
  }

  async close(): Promise<void> {
    // Commands are ended through the abort signal (their process groups: execute.ts).
  }
}
