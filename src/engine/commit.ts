// Publishing a finished attempt. Commit order: outputs fsynced in runs/tmp -> renamed into
// runs/store/<key> -> database row last (the row is the commit point: a store dir without one is an
// interrupted commit and is replaced by the next attempt).
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { Json, MetricRow } from '../stage-api.js';
import type { HashCache } from '../hash/cache.js';
import type { Instance } from '../pipeline/types.js';
import { pidAlive, type Store } from '../store/index.js';
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

/**
 * The committed outputs of a key, or undefined when the key is absent. A row whose store dir is gone
 * (deleted by hand) counts as absent; so does a store dir without a row (an interrupted commit).
 */
export function committedOutputs(store: Store, layout: Layout, key: string): Map<string, Artifact> | undefined {
  const c = store.getCommitted(key);
  if (!c || !existsSync(layout.store(key))) return undefined;
  return new Map(c.artifacts.map((a) => [a.name, { path: resolve(layout.workspace, a.path), hash: a.hash }]));
}

/** A finished attempt, ready to publish. */
export interface Finished {
  readonly inst: Instance;
  readonly prepared: Prepared;
  /** The attempt's private output directory under runs/tmp (fsynced). */
  readonly tmp: string;
  readonly runId: number;
  readonly startedAt: number;
  readonly finishedAt: number;
  /** Relative to the workspace. */
  readonly logPath: string;
  readonly metrics: readonly MetricRow[];
  /** How many attempts it took (`retry:`). */
  readonly attempts: number;
}

/** Renames `tmp` into the store, replacing a store dir without a row (an interrupted commit) or a forced re-run's old one. */
function publish(layout: Layout, tmp: string, key: string): string {
  const dest = layout.store(key);
  mkdirSync(dirname(dest), { recursive: true });
  const old = `${tmp}.old`;
  if (existsSync(dest)) renameSync(dest, old);
  renameSync(tmp, dest);
  rmSync(old, { recursive: true, force: true });
  return dest;
}

/** Publishes the outputs, hashes them and writes the database row; returns the committed artifacts. */
export function commit(f: Finished, layout: Layout, store: Store, hashes: HashCache): Map<string, Artifact> {
  const { inst, prepared, runId } = f;
  const { key } = prepared;
  const dest = publish(layout, f.tmp, key);
  const artifacts = new Map<string, Artifact>();
  for (const [name, rel] of Object.entries(outputPaths(inst))) {
    const path = join(dest, rel);
    artifacts.set(name, { path, hash: hashes.hashPath(path) });
  }
  hashes.flush();
  const durationMs = f.finishedAt - f.startedAt;
  store.commitInstance(
    {
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
    },
    f.metrics,
    { runId, instanceId: inst.id, stage: inst.stage.name, key, status: 'ran', startedAt: f.startedAt, durationMs, logPath: f.logPath, error: null, attempts: f.attempts },
  );
  rmSync(layout.partial(key), { recursive: true, force: true });
  return artifacts;
}
