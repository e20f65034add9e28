// The run loop: every considered instance waits for its upstream, computes its key, and is restored
// from the store (hit), skipped, or executed under the resource pool and a per-key lock. Commit order:
// outputs fsynced in runs/tmp -> renamed into runs/store/<key> -> database row last.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
} from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StageError, type Json, type MetricRow, type RunInfo } from '../stage-api.js';
import { HashCache } from '../hash/cache.js';
import type { Instance, Pipeline } from '../pipeline/types.js';
import { openStore, pidAlive, type Store } from '../store/index.js';
import { execute } from './execute.js';
import { prepare, PrepareError, type Artifact, type Prepared } from './keys.js';
import { Layout } from './layout.js';
import { ResourcePool, type Demand } from './pool.js';
import { silentReporter, type Reporter } from './progress.js';
import type { InstanceResult, RunResult } from './results.js';
import { select, type SelectOptions } from './select.js';
import { codeVersion } from './code-version.js';
import { diffComponents } from './diff.js';

export interface ExecOptions extends SelectOptions {
  readonly dryRun?: boolean;
  /** CPU slots (default: os.availableParallelism()). */
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
  /** Echo stage log lines (built-in kinds) to the reporter. */
  readonly verbose?: boolean;
}

interface Outcome {
  readonly result: InstanceResult;
  /** Present when the instance's outputs exist (ran or cached). */
  readonly artifacts?: ReadonlyMap<string, Artifact>;
}

const TAIL_LINES = 20;

function logTail(path: string): string[] {
  try {
    const lines = readFileSync(path, 'utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return lines.slice(-TAIL_LINES);
  } catch {
    return [];
  }
}

/** fsync every file and directory under `dir`, so the rename that follows publishes durable bytes. */
function fsyncTree(dir: string): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) fsyncTree(p);
    else if (e.isFile()) {
      const fd = openSync(p, 'r');
      fsyncSync(fd);
      closeSync(fd);
    }
  }
  const fd = openSync(dir, 'r');
  fsyncSync(fd);
  closeSync(fd);
}

/** Removes leftovers of attempts whose process died: `runs/tmp/<key>.<pid>.<rand>[.old]`. */
function cleanStaleTmp(layout: Layout): void {
  let names: string[];
  try {
    names = readdirSync(layout.tmp);
  } catch {
    return;
  }
  for (const n of names) {
    const pid = Number(n.split('.')[1]);
    if (Number.isInteger(pid) && pid > 0 && !pidAlive(pid)) rmSync(join(layout.tmp, n), { recursive: true, force: true });
  }
}

function outputPaths(inst: Instance): Record<string, string> {
  if (inst.kind) {
    const out: Record<string, string> = { metrics: 'metrics.jsonl' };
    for (const [name, spec] of Object.entries(inst.kind.outputs)) out[name] = spec.path;
    return out;
  }
  return { ...(inst.stage.outs ?? {}) };
}

function demandOf(inst: Instance, prepared: Prepared): Demand {
  const r = inst.kind
    ? (inst.kind.resources?.(prepared.params) ?? {})
    : { cpu: inst.stage.resources?.cpu, gpu: inst.stage.resources?.gpu, memoryMb: inst.stage.resources?.memory_mb };
  return { cpu: r.cpu ?? 1, gpu: r.gpu ?? 0, memoryMb: r.memoryMb ?? 0 };
}

/**
 * The committed outputs of a key, or undefined when the key is absent. A row whose store dir is gone
 * (deleted by hand) counts as absent; so does a store dir without a row (an interrupted commit).
 */
export function committedOutputs(store: Store, layout: Layout, key: string): Map<string, Artifact> | undefined {
  const c = store.getCommitted(key);
  if (!c || !existsSync(layout.store(key))) return undefined;
  return new Map(c.artifacts.map((a) => [a.name, { path: resolve(layout.workspace, a.path), hash: a.hash }]));
}

export async function execPipeline(p: Pipeline, o: ExecOptions): Promise<RunResult> {
  const sel = select(p, o);
  const layout = new Layout(p.workspace);
  const reporter = o.reporter ?? silentReporter;
  mkdirSync(layout.tmp, { recursive: true });
  cleanStaleTmp(layout);
  const store = openStore(layout.db);
  try {
    return await new Run(p, o, sel, layout, store, reporter).go();
  } finally {
    store.close();
  }
}

class Run {
  private readonly hashes: HashCache;
  private readonly pool: ResourcePool;
  private readonly abort = new AbortController();
  private readonly outcomes = new Map<string, Promise<Outcome>>();
  private readonly cachedLinks: Parameters<Store['recordRunInstance']>[0][] = [];
  private runId: number | null = null;
  /** sha256 of the pipeline file as the run starts (for StageContext.run). */
  private pipelineHash = '';
  private info: RunInfo | undefined;
  /** Keys being built by this process, and how to wake the next instance waiting for each. */
  private readonly building = new Map<string, Promise<void>>();
  private readonly releases = new Map<string, () => void>();
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
    this.pool = new ResourcePool({
      cpu: Math.max(1, o.jobs ?? availableParallelism()),
      gpu: Math.max(0, o.gpus ?? 1),
      memoryMb: o.memoryMb ?? Math.floor(totalmem() / 2 ** 20),
    });
    this.scope = { params: p.params, byStage: p.byStage, env: o.env ?? process.env };
    if (o.signal) o.signal.addEventListener('abort', () => this.abort.abort(o.signal?.reason), { once: true });
  }

  async go(): Promise<RunResult> {
    const { p, o } = this;
    if (!o.dryRun) {
      this.runId = this.store.createRun(p.relFile, o.argv ?? [], p.params);
      this.pipelineHash = this.hashes.hashPath(p.file);
    }
    const considered = p.instances.filter((i) => this.sel.considered.has(i.id));
    this.reporter.begin({ runId: this.runId, pipeline: p.relFile, total: considered.length, dryRun: !!o.dryRun });
    for (const inst of considered)
      this.outcomes.set(
        inst.id,
        // A bug or an I/O error (disk full while committing) fails this instance, not the whole run.
        this.process(inst).catch((e: unknown) => {
          const err = e as NodeJS.ErrnoException;
          return this.fail(inst, null, 0, `${err.code ?? err.name}: ${err.message}`, err.code === 'ENOSPC' ? 'free disk space, then run again: finished stages are kept' : err.stack?.split('\n').slice(1, 4).join('\n'));
        }),
      );
    const results: InstanceResult[] = [];
    for (const inst of considered) {
      const r = (await this.outcomes.get(inst.id)!).result;
      results.push(r);
    }
    this.hashes.flush();
    this.flushLinks();
    const interrupted = this.abort.signal.aborted;
    const bad = results.some((r) => r.status === 'failed' || (r.status === 'skipped' && !r.would_run));
    const status = interrupted ? 'interrupted' : bad ? 'failed' : 'succeeded';
    if (this.runId !== null) this.store.finishRun(this.runId, status);
    const run: RunResult = { run: this.runId, status, instances: results };
    this.reporter.end(run);
    return run;
  }

  /** Records the cache hits and skips so far (batched: one transaction, not one per instance). */
  private flushLinks(): void {
    if (this.runId !== null) this.store.recordRunInstances(this.cachedLinks.splice(0));
  }

  private finish(r: InstanceResult, artifacts?: ReadonlyMap<string, Artifact>): Outcome {
    this.reporter.finished(r);
    return artifacts ? { result: r, artifacts } : { result: r };
  }

  private skip(inst: Instance, reason: string, extra: Partial<InstanceResult> = {}): Outcome {
    const r: InstanceResult = { id: inst.id, status: 'skipped', duration_ms: 0, key: null, reason, ...extra };
    if (this.runId !== null && !r.would_run)
      this.cachedLinks.push({ runId: this.runId, instanceId: inst.id, stage: inst.stage.name, key: r.key, status: 'skipped', startedAt: null, durationMs: 0, logPath: null, error: reason });
    return this.finish(r);
  }

  private hit(key: string): Map<string, Artifact> | undefined {
    return committedOutputs(this.store, this.layout, key);
  }

  private outputsOf(arts: ReadonlyMap<string, Artifact>): Record<string, string> {
    return Object.fromEntries([...arts].map(([n, a]) => [n, a.path]));
  }

  private async process(inst: Instance): Promise<Outcome> {
    const ups = await Promise.all(inst.upstream.map((u) => this.outcomes.get(u)!));
    const blocked = ups.find((u) => !u.artifacts);
    if (blocked) {
      const b = blocked.result;
      if (b.would_run) return this.skip(inst, `upstream ${b.id} would run`, { would_run: this.sel.selected.has(inst.id) });
      return this.skip(inst, `upstream ${b.id} ${b.status === 'skipped' ? 'was skipped' : 'failed'}`);
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
    const found = forced ? undefined : this.hit(key);
    if (found) return this.cached(inst, key, found);
    if (!this.sel.selected.has(inst.id))
      return this.skip(inst, 'not selected and not up to date', { key, hint: 'include it in --only/--from/--until, or run without them' });
    if (this.o.dryRun) return this.finish({ id: inst.id, status: 'skipped', duration_ms: 0, key, would_run: true, reason: forced ? 'forced' : this.why(inst, prepared) });
    if (this.stopping || this.abort.signal.aborted)
      return this.skip(inst, this.abort.signal.aborted ? 'interrupted' : 'stopped after a failure (--keep-going runs independent stages)');
    return this.build(inst, prepared, forced);
  }

  /** For --dry-run: what changed since the instance's last result (like `pipe status`, in one line). */
  private why(inst: Instance, prepared: Prepared): string {
    this.lastGood ??= this.store.lastGoodByInstance(this.p.relFile);
    const prev = this.lastGood.get(inst.id);
    if (!prev) return 'never ran';
    const changes = diffComponents(prev.components, prepared.components as unknown as Json);
    if (!changes.length) return 'outputs missing from the store';
    const shown = changes.slice(0, 3).map((c) => `${c.what} ${c.field}: ${c.old ?? '(none)'} -> ${c.new ?? '(none)'}`);
    return shown.join('; ') + (changes.length > 3 ? `; +${changes.length - 3} more` : '');
  }

  private cached(inst: Instance, key: string, arts: Map<string, Artifact>): Outcome {
    if (this.runId !== null)
      this.cachedLinks.push({ runId: this.runId, instanceId: inst.id, stage: inst.stage.name, key, status: 'cached', startedAt: null, durationMs: 0, logPath: null, error: null });
    this.link(inst.id, key);
    return this.finish({ id: inst.id, status: 'cached', duration_ms: 0, key, outputs: this.outputsOf(arts) }, arts);
  }

  /** runs/latest/<id> -> the store dir, touched only when it changed. */
  private link(id: string, key: string): void {
    if (this.o.dryRun) return;
    const path = this.layout.latest(id);
    const target = relative(dirname(path), this.layout.store(key));
    try {
      if (readlinkSync(path) === target) return;
      unlinkSync(path);
    } catch {
      mkdirSync(dirname(path), { recursive: true });
    }
    try {
      symlinkSync(target, path);
    } catch {
      // A concurrent run linked it first; either target is a valid result.
    }
  }

  private fail(inst: Instance, key: string | null, ms: number, error: string, hint?: string, log?: string): Outcome {
    if (!this.o.keepGoing) this.stopping = true;
    const r: InstanceResult = {
      id: inst.id,
      status: 'failed',
      duration_ms: ms,
      key,
      error,
      ...(hint ? { hint } : {}),
      ...(log ? { log: relative(this.p.workspace, log), log_tail: logTail(log) } : {}),
    };
    if (this.runId !== null)
      this.store.recordRunInstance({ runId: this.runId, instanceId: inst.id, stage: inst.stage.name, key, status: 'failed', startedAt: Date.now() - ms, durationMs: ms, logPath: r.log ?? null, error });
    return this.finish(r);
  }

  private async lock(inst: Instance, key: string): Promise<void> {
    // Two instances of this run with one key (identical definitions) build it one after the other; the
    // database lock below only tells processes apart.
    for (let mine = this.building.get(key); mine; mine = this.building.get(key)) await mine;
    let release!: () => void;
    this.building.set(key, new Promise<void>((r) => (release = r)));
    this.releases.set(key, release);
    let told = false;
    for (;;) {
      const l = this.store.tryLock(key, inst.id);
      if (l.ok) return;
      if (!told) this.reporter.waiting(inst.id, `another pipe run (pid ${l.pid}) is building the same key; waiting for it`);
      told = true;
      await sleep(200);
      if (this.abort.signal.aborted) throw new StageError('interrupted');
    }
  }

  private unbuild(key: string): void {
    this.building.delete(key);
    this.releases.get(key)?.();
    this.releases.delete(key);
  }

  private async build(inst: Instance, prepared: Prepared, forced: boolean): Promise<Outcome> {
    const { key } = prepared;
    try {
      await this.lock(inst, key);
    } catch {
      this.unbuild(key);
      return this.skip(inst, 'interrupted');
    }
    let release: (() => void) | undefined;
    try {
      // Another process may have built this key while we waited for the lock.
      const found = forced ? undefined : this.hit(key);
      if (found) return this.cached(inst, key, found);
      release = await this.pool.acquire(demandOf(inst, prepared));
      if (this.stopping || this.abort.signal.aborted)
        return this.skip(inst, this.abort.signal.aborted ? 'interrupted' : 'stopped after a failure (--keep-going runs independent stages)');
      return await this.attempt(inst, prepared);
    } finally {
      release?.();
      this.store.unlock(key);
      this.unbuild(key);
    }
  }

  /** StageContext.run, built when the first stage executes: a run that restores everything spawns no git. */
  private runInfo(): RunInfo {
    return (this.info ??= { id: this.runId!, pipelineFile: this.p.relFile, pipelineHash: this.pipelineHash, codeVersion: codeVersion() });
  }

  private async attempt(inst: Instance, prepared: Prepared): Promise<Outcome> {
    const { key } = prepared;
    const runId = this.runId!;
    const layout = this.layout;
    const tmp = join(layout.tmp, `${key}.${process.pid}.${randomBytes(4).toString('hex')}`);
    const logPath = layout.log(runId, inst.id);
    const started = Date.now();
    // Before a possibly long stage: a run killed during it still shows what it restored.
    this.flushLinks();
    this.hashes.flush();
    this.reporter.started(inst.id);
    let metrics: MetricRow[];
    try {
      ({ metrics } = await execute({
        inst,
        prepared,
        workspace: this.p.workspace,
        run: this.runInfo(),
        outDir: tmp,
        logPath,
        resumeDir: layout.partial(key),
        kindCacheDir: layout.kindCache(inst.kind?.kind ?? 'command'),
        signal: this.abort.signal,
        hashes: this.hashes,
        onProgress: (pr) => this.reporter.progress(inst.id, pr),
        ...(this.o.verbose ? { onLog: (line: string) => this.reporter.log(inst.id, line) } : {}),
      }));
      fsyncTree(tmp);
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      if (this.abort.signal.aborted) return this.skip(inst, 'interrupted');
      const err = e as Error;
      const user = e instanceof StageError;
      return this.fail(inst, key, Date.now() - started, user ? err.message : `${err.name}: ${err.message}`, user ? e.hint : err.stack?.split('\n').slice(1, 4).join('\n'), logPath);
    }
    // Publish: replace any store dir without a row (an interrupted commit) or a forced re-run's old one.
    const dest = layout.store(key);
    mkdirSync(dirname(dest), { recursive: true });
    const old = `${tmp}.old`;
    if (existsSync(dest)) renameSync(dest, old);
    renameSync(tmp, dest);
    rmSync(old, { recursive: true, force: true });
    const artifacts = new Map<string, Artifact>();
    for (const [name, rel] of Object.entries(outputPaths(inst))) {
      const path = join(dest, rel);
      artifacts.set(name, { path, hash: this.hashes.hashPath(path) });
    }
    this.hashes.flush();
    const finished = Date.now();
    const relLog = relative(this.p.workspace, logPath);
    this.store.commitInstance(
      {
        key,
        stage: inst.stage.name,
        instanceId: inst.id,
        components: prepared.components as unknown as Json,
        runId,
        startedAt: started,
        finishedAt: finished,
        durationMs: finished - started,
        logPath: relLog,
        artifacts: [...artifacts].map(([name, a]) => ({ name, path: relative(this.p.workspace, a.path), hash: a.hash })),
      },
      metrics,
      { runId, instanceId: inst.id, stage: inst.stage.name, key, status: 'ran', startedAt: started, durationMs: finished - started, logPath: relLog, error: null },
    );
    rmSync(layout.partial(key), { recursive: true, force: true });
    this.link(inst.id, key);
    return this.finish({ id: inst.id, status: 'ran', duration_ms: finished - started, key, log: relLog, outputs: this.outputsOf(artifacts) }, artifacts);
  }
}
