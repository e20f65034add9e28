// Publishing finished attempts. Commit order: outputs fsynced in runs/tmp -> renamed into
// runs/store/<key> -> database row last (the row is the commit point: a store dir without one is an
// interrupted commit and is replaced by the next attempt). Attempts that finish while a commit is under
// way are committed together (group commit): one wave of fsyncs, run in libuv's thread pool so the run
// loop keeps starting commands meanwhile, and one database transaction for the batch.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname, join, relative, resolve } from 'node:path';
import type { Json, MetricRow } from '../stage-api.js';
import type { Instance } from '../pipeline/types.js';
import { pidAlive, type CommitRows, type CommittedInstance, type Store } from '../store/index.js';
import { checkEntry, outputHash, protect, recordFiles, writeManifest } from './entry.js';
import type { Artifact, Prepared } from './keys.js';
import type { Layout } from './layout.js';
import type { ResumeDirs } from './resume.js';
import type { Usage } from './usage.js';

/**
 * Files open at once while a tree is fsynced: enough to keep libuv's thread pool busy; all of them at
 * once exhausted the open-file limit (EMFILE) on an output of 300k files (BENCHMARKS.md, Full-scale
 * rehearsal). A fixed set of workers over one list rather than p-limit: three lines, no dependency.
 */
const FSYNC_IN_FLIGHT = 64;

/**
 * fsync every file and directory under `dir`, so the rename that follows publishes durable bytes. The
 * fsyncs run in parallel in libuv's thread pool (at most FSYNC_IN_FLIGHT at a time): the event loop is
 * not blocked, and the file system can write them in one journal commit.
 */
export async function fsyncTree(dir: string): Promise<void> {
  const paths: string[] = [];
  const collect = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) collect(p);
      else if (e.isFile()) paths.push(p);
    }
    paths.push(d);
  };
  collect(dir);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < paths.length) await fsyncPath(paths[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(FSYNC_IN_FLIGHT, paths.length) }, worker));
}

async function fsyncPath(path: string): Promise<void> {
  const h = await open(path, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/**
 * Removes leftovers of attempts whose process died: `runs/tmp/<key>.<pid>.<rand>[.old]`. In the background:
 * a dead attempt of a large output can hold 300,000 files, minutes of unlinks (the full-scale rehearsal
 * waited 15 minutes before its first line), and no new attempt can collide with those names (they carry a
 * dead pid and a random part). The run awaits the promise before it returns; an error leaves the rest to
 * the next run, which tries again.
 */
export async function cleanStaleTmp(layout: Layout): Promise<void> {
  let names: string[];
  try {
    names = readdirSync(layout.tmp);
  } catch {
    return;
  }
  const dead = names.filter((n) => {
    const pid = Number(n.split('.')[1]);
    return Number.isInteger(pid) && pid > 0 && !pidAlive(pid);
  });
  await Promise.all(dead.map((n) => rm(join(layout.tmp, n), { recursive: true, force: true }).catch(() => undefined)));
}

/** Declared outputs of an instance: name -> path inside its output directory. */
export function outputPaths(inst: Instance): Record<string, string> {
  if (inst.kind) {
    const out: Record<string, string> = { metrics: 'metrics.jsonl' };
    for (const [name, spec] of Object.entries(inst.kind.outputs)) out[name] = spec.path;
    return out;
  }
  return { ...(inst.stage.outs ?? {}) };
}

export type Restored =
  | { readonly state: 'absent' }
  | { readonly state: 'corrupt'; readonly problem: string }
  | { readonly state: 'ok'; readonly artifacts: Map<string, Artifact> };

/**
 * The committed outputs of a key, checked against the file records of its entry: a stat per file, or
 * every file re-hashed with `full` (--verify). A row whose store dir is gone (deleted by hand) counts as
 * absent; so does a store dir without a row (an interrupted commit).
 */
export function restore(store: Store, layout: Layout, key: string, full = false): Restored {
  const c = store.getCommitted(key);
  const dir = layout.store(key);
  if (!c || !existsSync(dir)) return { state: 'absent' };
  // An entry committed before file records were kept has none: it is trusted as before.
  const records = store.storeFiles(key);
  if (records.length) {
    const check = checkEntry(dir, records, full);
    if (!check.ok) return { state: 'corrupt', problem: check.problem };
    if (check.restat.length) store.restatStoreFiles(key, check.restat);
  }
  return { state: 'ok', artifacts: new Map(c.artifacts.map((a) => [a.name, { path: resolve(layout.workspace, a.path), hash: a.hash }])) };
}

/** The committed outputs of a key when its entry is intact (cheap check), else undefined. */
export function committedOutputs(store: Store, layout: Layout, key: string): Map<string, Artifact> | undefined {
  const r = restore(store, layout, key);
  return r.state === 'ok' ? r.artifacts : undefined;
}

/** A finished attempt, ready to publish. */
export interface Finished {
  readonly inst: Instance;
  readonly prepared: Prepared;
  /** The attempt's private output directory under runs/tmp. */
  readonly tmp: string;
  readonly runId: number;
  readonly startedAt: number;
  /** When the attempt's process or built-in ended, before its outputs were hashed. */
  readonly attemptEndedAt: number;
  /** Relative to the workspace. */
  readonly logPath: string;
  readonly metrics: readonly MetricRow[];
  /** The resources the attempt used (usage.ts); null where not measured. */
  readonly usage: Usage | null;
  /** How many attempts it took (`retry:`). */
  readonly attempts: number;
  /** Which executor ran it, and its Slurm job id (recorded with the run's history row). */
  readonly executor: string;
  readonly jobId: string | null;
}

/** Renames `tmp` into the store, replacing a store dir without a row (an interrupted commit) or a forced re-run's old one. */
function publish(layout: Layout, tmp: string, key: string): void {
  const dest = layout.store(key);
  mkdirSync(dirname(dest), { recursive: true });
  const old = `${tmp}.old`;
  if (existsSync(dest)) renameSync(dest, old);
  renameSync(tmp, dest);
  rmSync(old, { recursive: true, force: true });
}

/**
 * Test hook for the fault-injection tests: with PIPE_TEST_PAUSE_AT=commit the runner stops between the
 * rename into the store and the database row, the one window a crash must not turn into a wrong result.
 * It writes runs/paused-<pid> and waits while that file exists.
 */
async function pauseAt(point: string, layout: Layout, key: string): Promise<void> {
  if (process.env.PIPE_TEST_PAUSE_AT !== point) return;
  const marker = join(layout.runs, `paused-${process.pid}`);
  writeFileSync(marker, `${point} ${key}\n`);
  while (existsSync(marker)) await sleep(50);
}

/** A finished attempt, recorded and described in its tmp directory, made read-only: what is left is fsync, rename, row. */
interface Described {
  readonly f: Finished;
  readonly rows: CommitRows;
  readonly artifacts: Map<string, Artifact>;
}

/**
 * Records the outputs of a finished attempt (its outputs already confined: see entry.ts): size, mtime,
 * sha256 of each file, the entry manifest, read-only files. Returns its database rows and artifacts.
 */
function describe(f: Finished, layout: Layout): Described {
  const { inst, prepared, runId, tmp } = f;
  const { key } = prepared;
  const hashingFrom = Date.now();
  const files = recordFiles(tmp);
  const dest = layout.store(key);
  const artifacts = new Map<string, Artifact>();
  for (const [name, rel] of Object.entries(outputPaths(inst))) artifacts.set(name, { path: join(dest, rel), hash: outputHash(tmp, files, rel) });
  // The duration covers the attempt and the hashing of its outputs (minutes for 300k files), not the
  // time it waited for an earlier commit; the fsync and rename that follow are not in the manifest's figure.
  const finishedAt = Date.now();
  const durationMs = f.attemptEndedAt - f.startedAt + (finishedAt - hashingFrom);
  const usage = { cpuMs: f.usage?.cpuMs ?? null, peakRssKb: f.usage?.peakRssKb ?? null };
  const ci: CommittedInstance = {
    key,
    stage: inst.stage.name,
    instanceId: inst.id,
    components: prepared.components as unknown as Json,
    runId,
    startedAt: f.startedAt,
    finishedAt,
    durationMs,
    ...usage,
    logPath: f.logPath,
    artifacts: [...artifacts].map(([name, a]) => ({ name, path: relative(layout.workspace, a.path), hash: a.hash })),
  };
  const { runId: _run, ...described } = ci;
  writeManifest(tmp, { version: 1, ...described, files, ...(inst.kind ? { metricsFile: 'metrics.jsonl' } : f.metrics.length ? { metrics: f.metrics } : {}) });
  protect(tmp);
  const link = { runId, instanceId: inst.id, stage: inst.stage.name, key, status: 'ran' as const, startedAt: f.startedAt, durationMs, ...usage, logPath: f.logPath, error: null, attempts: f.attempts, executor: f.executor, jobId: f.jobId };
  return { f, rows: { ci, metrics: f.metrics, link, files }, artifacts };
}

/** A committed attempt: its outputs in the store and the duration its rows record. */
export interface Committed {
  readonly artifacts: Map<string, Artifact>;
  readonly durationMs: number;
}

interface Waiting {
  readonly f: Finished;
  readonly resolve: (c: Committed) => void;
  readonly reject: (e: unknown) => void;
}

/**
 * Commits finished attempts (their keys' locks held by the caller until the promise settles). Attempts
 * that finish while a batch is being committed form the next batch. Each entry keeps the commit order
 * (fsynced, renamed, row); a failure while describing, syncing or renaming one entry fails that entry alone.
 */
export class Committer {
  private queue: Waiting[] = [];
  private busy = false;

  constructor(
    private readonly layout: Layout,
    private readonly store: Store,
    private readonly resume: ResumeDirs,
  ) {}

  commit(f: Finished): Promise<Committed> {
    return new Promise((resolve, reject) => {
      this.queue.push({ f, resolve, reject });
      if (!this.busy) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.busy = true;
    try {
      while (this.queue.length) await this.batch(this.queue.splice(0));
    } finally {
      this.busy = false;
    }
  }

  private async batch(waiting: readonly Waiting[]): Promise<void> {
    const ready: { w: Waiting; p: Described }[] = [];
    await Promise.all(
      waiting.map(async (w) => {
        try {
          const p = describe(w.f, this.layout);
          await fsyncTree(w.f.tmp);
          ready.push({ w, p });
        } catch (e) {
          w.reject(e);
        }
      }),
    );
    const published = ready.filter(({ w }) => {
      try {
        publish(this.layout, w.f.tmp, w.f.prepared.key);
        return true;
      } catch (e) {
        w.reject(e);
        return false;
      }
    });
    if (!published.length) return;
    await pauseAt('commit', this.layout, published[0].w.f.prepared.key);
    try {
      this.store.commitInstances(published.map(({ p }) => p.rows));
    } catch (e) {
      for (const { w } of published) w.reject(e);
      return;
    }
    // Checkpoints of a committed key are no longer needed; removed before its lock is released, so a
    // forced rebuild that starts next never finds its own resume directory deleted.
    await Promise.all(published.map(({ w }) => this.resume.release(this.layout.partial(w.f.prepared.key)).catch(() => undefined)));
    for (const { w, p } of published) w.resolve({ artifacts: p.artifacts, durationMs: p.rows.ci.durationMs });
  }
}
