// Publishing a finished attempt. Commit order: outputs fsynced in runs/tmp -> renamed into
// runs/store/<key> -> database row last (the row is the commit point: a store dir without one is an
// interrupted commit and is replaced by the next attempt).
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname, join, relative, resolve } from 'node:path';
import type { Json, MetricRow } from '../stage-api.js';
import type { Instance } from '../pipeline/types.js';
import { pidAlive, type CommittedInstance, type Store } from '../store/index.js';
import { checkEntry, outputHash, protect, recordFiles, writeManifest } from './entry.js';
import type { Artifact, Prepared } from './keys.js';
import type { Layout } from './layout.js';

/** fsync every file and directory under `dir`, so the rename that follows publishes durable bytes. */
export function fsyncTree(dir: string): void {
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
export function cleanStaleTmp(layout: Layout): void {
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
  readonly finishedAt: number;
  /** Relative to the workspace. */
  readonly logPath: string;
  readonly metrics: readonly MetricRow[];
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

/**
 * Commits a finished attempt (its outputs already confined: see entry.ts): they are recorded (size, mtime, sha256),
 * described by the entry manifest, made read-only and fsynced in runs/tmp; then renamed into the store;
 * then the database row is written. Returns the committed artifacts.
 */
export async function commit(f: Finished, layout: Layout, store: Store): Promise<Map<string, Artifact>> {
  const { inst, prepared, runId, tmp } = f;
  const { key } = prepared;
  const files = recordFiles(tmp);
  const dest = layout.store(key);
  const artifacts = new Map<string, Artifact>();
  for (const [name, rel] of Object.entries(outputPaths(inst))) artifacts.set(name, { path: join(dest, rel), hash: outputHash(tmp, files, rel) });
  const durationMs = f.finishedAt - f.startedAt;
  const ci: CommittedInstance = {
    key,
    stage: inst.stage.name,
    instanceId: inst.id,
    components: prepared.components as unknown as Json,
    runId,
    startedAt: f.startedAt,
    finishedAt: f.finishedAt,
    durationMs,
    logPath: f.logPath,
    artifacts: [...artifacts].map(([name, a]) => ({ name, path: relative(layout.workspace, a.path), hash: a.hash })),
  };
  const { runId: _run, ...described } = ci;
  writeManifest(tmp, { version: 1, ...described, files, ...(inst.kind ? { metricsFile: 'metrics.jsonl' } : f.metrics.length ? { metrics: f.metrics } : {}) });
  protect(tmp);
  fsyncTree(tmp);
  publish(layout, tmp, key);
  await pauseAt('commit', layout, key);
  store.commitInstance(ci, f.metrics, { runId, instanceId: inst.id, stage: inst.stage.name, key, status: 'ran', startedAt: f.startedAt, durationMs, logPath: f.logPath, error: null, attempts: f.attempts, executor: f.executor, jobId: f.jobId }, files);
  rmSync(layout.partial(key), { recursive: true, force: true });
  return artifacts;
}
