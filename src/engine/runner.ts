// The run loop: every considered instance waits for its upstream, computes its key, and is restored
// from the store (hit), skipped, or executed under the resource pool and a per-key lock (lock.ts), then
// committed (commit.ts). What happened to each instance is reported and recorded by record.ts.
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StageError, type Json, type RunInfo } from '../stage-api.js';
import { HashCache } from '../hash/cache.js';
import type { Instance, Pipeline, SlurmOptions } from '../pipeline/types.js';
import { openStore, type Store } from '../store/index.js';
import { cleanStaleTmp, Committer, restore } from './commit.js';
import { moveAside } from './entry.js';
import { LocalExecutor, type Executor, type ExecutorName, type Job } from './executor.js';
import { prepare, PrepareError, type Artifact, type Prepared } from './keys.js';
import { publishRun } from './publish.js';
import { Layout, linkLatest } from './layout.js';
import { KeyLocks } from './lock.js';
import { reindex, storeHasEntries } from './reindex.js';
import { ResumeDirs } from './resume.js';
import { stopSpawner } from './spawner.js';
import { silentReporter, type Reporter } from './progress.js';
import { Recorder, type Outcome } from './record.js';
import type { InstanceResult, RunResult } from './results.js';
import { select, type SelectOptions } from './select.js';
import { codeVersion } from './code-version.js';
import { staleReason } from './diff.js';
import { SlurmExecutor } from './slurm/executor.js';
import { accepted, attemptError, demandOf, retryPolicy, type Attempted, type Build } from './attempt.js';
import { Groups, type GroupHost } from './grouping.js';

export interface ExecOptions extends SelectOptions {
  readonly dryRun?: boolean;
  /** Where instances run; overrides the pipeline file's `executor:` (default: the workspace config, else local). */
  readonly executor?: ExecutorName;
  /** The workspace's pipe.config.yaml: its executor (below the pipeline file's) and slurm defaults. */
  readonly config?: { readonly executor?: ExecutorName; readonly slurm?: SlurmOptions };
  /** Results database (default runs/pipe.db): a local disk when the workspace is on NFS. */
  readonly db?: string;
  /** Local: CPU slots (default: os.availableParallelism()). Slurm: most jobs in the queue at once. */
  readonly jobs?: number;
  readonly gpus?: number;
  readonly memoryMb?: number;
  readonly keepGoing?: boolean;
  /** Re-read input content instead of trusting the stat cache. */
  readonly verify?: boolean;
  readonly reporter?: Reporter;
  readonly signal?: AbortSignal;
  /** Recorded with the run (the CLI passes its argv). */
  readonly argv?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** Echo every stage's log lines (command output, built-in kinds' ctx.log) to the reporter. */
  readonly verbose?: boolean;
}

export async function execPipeline(p: Pipeline, o: ExecOptions): Promise<RunResult> {
  const sel = select(p, o);
  const layout = new Layout(p.workspace, o.db);
  const reporter = o.reporter ?? silentReporter;
  mkdirSync(layout.tmp, { recursive: true });
  const cleaning = cleanStaleTmp(layout);
  const fresh = !existsSync(layout.db);
  const store = openStore(layout.db);
  try {
    // A new database beside a non-empty store (pipe.db deleted or moved aside): index the store first, so
    // the lost history costs no recomputation. Not as the argument of `reporter.reindexed?.()`: an optional
    // call skips its arguments, and a reporter that does not listen would leave the store unindexed.
    if (fresh && !o.dryRun && storeHasEntries(layout)) {
      const report = reindex(layout, store);
      reporter.reindexed?.(report);
    }
    return await new Run(p, o, sel, layout, store, reporter).go();
  } finally {
    store.close();
    await cleaning;
  }
}

/** The executor a run uses: --executor, else the pipeline file's `executor:`, else the workspace config's. */
function executorFor(p: Pipeline, o: ExecOptions, layout: Layout, store: Store, signal: AbortSignal): Executor {
  const name = o.executor ?? p.executor ?? o.config?.executor ?? 'local';
  if (name === 'local') return new LocalExecutor(layout, signal, o);
  const records = {
    record: store.recordJob.bind(store),
    find: store.jobFor.bind(store),
    forget: store.forgetJob.bind(store),
  };
  return new SlurmExecutor(layout, signal, records, { maxJobs: o.jobs, defaults: { ...o.config?.slurm, ...p.slurm } });
}

class Run implements GroupHost {
  private readonly hashes: HashCache;
  readonly executor: Executor;
  /** Slurm job ids of the instances submitted so far (recorded with their outcome). */
  private readonly jobIds = new Map<string, string>();
  readonly locks: KeyLocks;
  private readonly committer: Committer;
  private readonly resume: ResumeDirs;
  private groups!: Groups;
  private readonly abort = new AbortController();
  private readonly outcomes = new Map<string, Promise<Outcome>>();
  private record!: Recorder;
  private runId: number | null = null;
  /** sha256 of the pipeline file as the run starts (for StageContext.run). */
  private pipelineHash = '';
  private info: RunInfo | undefined;
  private stopping = false;
  private lastGood: ReturnType<Store['lastGoodByInstance']> | undefined;
  private readonly scope;

  constructor(
    private readonly p: Pipeline,
    private readonly o: ExecOptions,
    private readonly sel: ReturnType<typeof select>,
    private readonly layout: Layout,
    private readonly store: Store,
    private readonly reporter: Reporter,
  ) {
    this.hashes = new HashCache(store, o.verify);
    this.executor = executorFor(p, o, layout, store, this.abort.signal);
    this.locks = new KeyLocks(store, reporter, this.abort.signal);
    this.resume = new ResumeDirs(layout);
    this.committer = new Committer(layout, store, this.resume);
    this.scope = { params: p.params, byStage: p.byStage, env: o.env ?? process.env };
    if (o.signal) o.signal.addEventListener('abort', () => this.abort.abort(o.signal?.reason), { once: true });
  }

  async go(): Promise<RunResult> {
    const { p, o } = this;
    if (!o.dryRun) {
      this.runId = this.store.createRun(p.relFile, o.argv ?? [], p.params);
      this.pipelineHash = this.hashes.hashPath(p.file);
    }
    this.record = new Recorder(this.store, this.reporter, p.workspace, this.runId, this.executor.name, this.jobIds);
    const considered = p.instances.filter((i) => this.sel.considered.has(i.id));
    this.groups = new Groups(considered, this);
    this.reporter.begin({ runId: this.runId, pipeline: p.relFile, total: considered.length, dryRun: !!o.dryRun });
    for (const inst of considered) {
      // A bug or an I/O error (disk full while committing) fails this instance, not the whole run.
      const outcome = this.process(inst).catch((e: unknown) => {
        const err = e as NodeJS.ErrnoException;
        return this.fail(inst, null, 0, `${err.code ?? err.name}: ${err.message}`, err.code === 'ENOSPC' ? 'free disk space, then run again: finished stages are kept' : err.stack?.split('\n').slice(1, 4).join('\n'));
      });
      const gate = this.groups.gate(inst);
      if (gate) void outcome.then(() => gate.settled(inst.id));
      this.outcomes.set(inst.id, outcome);
    }
    const results: InstanceResult[] = [];
    const done = new Map<string, { key: string; artifacts: ReadonlyMap<string, Artifact> }>();
    for (const inst of considered) {
      const { result: r, artifacts } = await this.outcomes.get(inst.id)!;
      results.push(r);
      if (artifacts && r.key) done.set(inst.id, { key: r.key, artifacts });
    }
    await this.executor.close();
    await this.resume.close();
    await stopSpawner();
    this.hashes.flush();
    this.record.flush();
    return this.end(results, this.runId !== null ? publishRun(p, this.runId, done, this.store, this.hashes) : []);
  }

  private end(results: InstanceResult[], published: RunResult['published'] & object): RunResult {
    const interrupted = this.abort.signal.aborted;
    const bad = results.some((r) => r.status === 'failed' || (r.status === 'skipped' && !r.would_run));
    const status = interrupted ? 'interrupted' : bad ? 'failed' : 'succeeded';
    if (this.runId !== null) this.store.finishRun(this.runId, status);
    const run: RunResult = { run: this.runId, status, instances: results, ...(published.length ? { published } : {}) };
    this.reporter.end(run);
    return run;
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  interrupted(inst: Instance): Outcome {
    return this.record.skipped(inst, 'interrupted');
  }

  /** Why an instance that could run does not start now: the run was interrupted or stops after a failure. */
  halted(inst: Instance): Outcome | undefined {
    if (this.abort.signal.aborted) return this.record.skipped(inst, 'interrupted');
    if (this.stopping) return this.record.skipped(inst, 'stopped after a failure (--keep-going runs independent stages)');
    return undefined;
  }

  private fail(inst: Instance, key: string | null, ms: number, error: string, hint?: string, log?: string, attempts?: number): Outcome {
    if (!this.o.keepGoing) this.stopping = true;
    return this.record.failed(inst, key, ms, error, hint, log, attempts);
  }

  /**
   * A store hit: restored (its entry checked, every file re-hashed with --verify), linked from
   * runs/latest. Otherwise the entry is absent or damaged (`corrupt`: what changed).
   */
  private hit(inst: Instance, key: string): Outcome | { corrupt: string } | undefined {
    const r = restore(this.store, this.layout, key, this.o.verify);
    if (r.state === 'absent') return undefined;
    if (r.state === 'corrupt') return { corrupt: r.problem };
    if (!this.o.dryRun) linkLatest(this.layout, inst.id, key);
    return this.record.cached(inst, key, r.artifacts);
  }

  /** Under the key's lock: moves a damaged entry aside and forgets its row, so the key is rebuilt. */
  private discard(inst: Instance, key: string, problem: string): string {
    const movedTo = relative(this.p.workspace, moveAside(this.layout, key));
    this.store.dropCommitted(key);
    this.reporter.corrupt(inst.id, problem, movedTo);
    return `${problem} (moved to ${movedTo})`;
  }

  private async process(inst: Instance): Promise<Outcome> {
    const ups = await Promise.all(inst.upstream.map((u) => this.outcomes.get(u)!));
    const blocked = ups.find((u) => !u.artifacts);
    if (blocked) {
      const b = blocked.result;
      if (b.would_run) return this.record.skipped(inst, `upstream ${b.id} would run`, { would_run: this.sel.selected.has(inst.id) });
      return this.record.skipped(inst, `upstream ${b.id} ${b.status === 'skipped' ? 'was skipped' : 'failed'}`);
    }
    const upstream = new Map(ups.map((u) => [u.result.id, u.artifacts!]));
    let prepared: Prepared;
    try {
      prepared = await prepare(inst, this.scope, upstream, this.hashes, this.p.workspace);
    } catch (e) {
      if (!(e instanceof PrepareError) && !(e instanceof StageError)) throw e;
      return this.fail(inst, null, 0, e.message, e.hint);
    }
    const { key } = prepared;
    const forced = this.sel.forced.has(inst.id);
    const found = forced ? undefined : this.hit(inst, key);
    if (found && 'result' in found) return found;
    const corrupt = found?.corrupt;
    if (!this.sel.selected.has(inst.id))
      return this.record.skipped(inst, corrupt ? `corrupt: ${corrupt}` : 'not selected and not up to date', { key, hint: 'include it in --only/--from/--until, or run without them' });
    if (this.o.dryRun) return this.record.finish({ id: inst.id, status: 'skipped', duration_ms: 0, key, would_run: true, reason: forced ? 'forced' : corrupt ? `corrupt: ${corrupt}` : this.why(inst, prepared) });
    const b: Build = { inst, prepared, forced };
    return this.halted(inst) ?? this.groups.gate(inst)?.join(b) ?? this.build(b);
  }

  private why(inst: Instance, prepared: Prepared): string {
    this.lastGood ??= this.store.lastGoodByInstance(this.p.relFile);
    return staleReason(this.lastGood.get(inst.id), prepared.components as unknown as Json, prepared.key);
  }

  async build(b: Build): Promise<Outcome> {
    const { inst, prepared } = b;
    try {
      await this.locks.acquire(inst.id, prepared.key);
    } catch {
      return this.interrupted(inst);
    }
    try {
      const r = this.recheck(b);
      if ('result' in r) return r;
      return await this.attempt(r);
    } finally {
      this.locks.release(prepared.key);
    }
  }

  /** Under the key's lock: another process may have built (or rebuilt) it while we waited. */
  recheck(b: Build): Outcome | Build {
    const found = b.forced ? undefined : this.hit(b.inst, b.prepared.key);
    if (found && 'result' in found) return found;
    return found ? { ...b, corrupt: this.discard(b.inst, b.prepared.key, found.corrupt) } : b;
  }

  /** StageContext.run, built when the first stage executes: a run that restores everything spawns no git. */
  private runInfo(): RunInfo {
    return (this.info ??= { id: this.runId!, pipelineFile: this.p.relFile, pipelineHash: this.pipelineHash, codeVersion: codeVersion() });
  }

  /** A line a running stage wrote: to the live view, and echoed with --verbose. */
  private onLog(id: string, line: string): void {
    this.reporter.output?.(id, line);
    if (this.o.verbose) this.reporter.log(id, line);
  }

  /**
   * Executes the instance and commits it, retried per its `retry:`, each attempt under its `timeout_s:`;
   * `corrupt`: why it is rebuilt (its entry was damaged).
   */
  private async attempt(b: Build): Promise<Outcome> {
    const { inst, prepared } = b;
    const policy = retryPolicy(inst.stage);
    const demand = demandOf(inst, prepared);
    let startedAt = 0;
    for (let n = 1; ; n++) {
      // The attempt holds its resources while it executes, not while it is committed or waits to retry:
      // the next instance starts meanwhile.
      const release = await this.executor.acquire(demand);
      let r: Attempted;
      try {
        if (n === 1) {
          const halted = this.halted(inst);
          if (halted) return halted;
          startedAt = this.starting([inst]);
        }
        r = await this.once(inst, prepared, policy.timeoutMs);
      } finally {
        release();
      }
      if (this.abort.signal.aborted) return this.interrupted(inst);
      if ('tmp' in r || n >= policy.attempts) return this.settle(b, r, startedAt, n);
      if (!(await this.pause([inst], `attempt ${n} of ${policy.attempts} failed (${r.error}); retrying in ${policy.delayMs / 1000} s`, policy.delayMs)))
        return this.interrupted(inst);
    }
  }

  /** Before a possibly long stage: a run killed during it still shows what it restored. */
  starting(insts: readonly Instance[]): number {
    this.record.flush();
    this.hashes.flush();
    for (const inst of insts) this.reporter.started(inst.id);
    return Date.now();
  }

  /** The end of an instance's attempt `n`: its outputs committed under its key, or its failure recorded. */
  async settle(b: Build, r: Attempted, startedAt: number, n: number): Promise<Outcome> {
    const { inst, prepared } = b;
    const runId = this.runId!;
    const logPath = this.layout.log(runId, inst.id);
    if (!('tmp' in r)) return this.fail(inst, prepared.key, Date.now() - startedAt, r.error, r.hint, logPath, n);
    const relLog = relative(this.p.workspace, logPath);
    const { artifacts, durationMs } = await this.committer.commit({ inst, prepared, tmp: r.tmp, runId, startedAt, attemptEndedAt: Date.now(), logPath: relLog, metrics: r.metrics, usage: r.usage, attempts: n, executor: this.executor.name, jobId: this.jobIds.get(inst.id) ?? null });
    linkLatest(this.layout, inst.id, prepared.key);
    return this.record.ran(inst, prepared.key, durationMs, relLog, artifacts, n, b.corrupt, r.usage);
  }

  /** Between attempts: the note in each instance's log, then the delay; false when the run is interrupted meanwhile. */
  async pause(insts: readonly Instance[], note: string, delayMs: number): Promise<boolean> {
    for (const inst of insts) {
      appendFileSync(this.layout.log(this.runId!, inst.id), `[pipe] ${note}\n`);
      this.reporter.waiting(inst.id, note);
    }
    try {
      await sleep(delayMs, undefined, { signal: this.abort.signal });
      return true;
    } catch {
      return false;
    }
  }

  /** One attempt, by the executor: its outputs (in a private directory under runs/tmp), or why it failed. */
  private async once(inst: Instance, prepared: Prepared, timeoutMs: number | undefined): Promise<Attempted> {
    try {
      return accepted(await this.executor.run(this.job(inst, prepared, timeoutMs)));
    } catch (e) {
      return attemptError(e);
    }
  }

  /** What the executor needs to run one attempt of the instance. */
  job(inst: Instance, prepared: Prepared, timeoutMs: number | undefined): Job {
    const { key } = prepared;
    return {
      inst,
      prepared,
      demand: demandOf(inst, prepared),
      timeoutMs,
      workspace: this.p.workspace,
      pipelineFile: this.p.file,
      sets: this.p.sets,
      run: this.runInfo(),
      logPath: this.layout.log(this.runId!, inst.id),
      resumeDir: this.layout.partial(key),
      makeResumeDir: (dir) => this.resume.make(dir),
      kindCacheDir: this.layout.kindCache(inst.kind?.kind ?? 'command'),
      hashes: this.hashes,
      env: this.scope.env,
      onProgress: (pr) => this.reporter.progress(inst.id, pr),
      onSpawn: (pgid) => this.locks.recordGroup(key, pgid),
      onSubmitted: (jobId) => {
        this.jobIds.set(inst.id, jobId);
        this.reporter.progress(inst.id, { done: 0, message: `Slurm job ${jobId}` });
      },
      ...(this.o.verbose || this.reporter.output ? { onLog: (line: string) => this.onLog(inst.id, line) } : {}),
    };
  }
}
