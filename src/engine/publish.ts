// Publishing outputs to workspace paths (`publish:` in a pipeline): after every run, cached or not,
// each published path holds a read-only copy of its output in the store. A path whose content differs
// from what pipe last wrote there was edited by someone: it is reported and left alone (`pipe checkout
// --force` overwrites it). A path the pipeline no longer publishes is removed if it is unchanged.
//
// Copies, not hard links: a hard link shares the store's inode, so a write through the published path
// (by root, or by a tool that opens read-only files for writing after a chmod) would silently change a
// committed result. COPYFILE_FICLONE makes the copy a reflink where the file system supports it.
import { randomBytes } from 'node:crypto';
import { chmodSync, constants, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { HashCache } from '../hash/cache.js';
import type { Pipeline } from '../pipeline/types.js';
import type { Store } from '../store/index.js';
import { publishedRows, recordRunPublished, updatePublished, type PublishedRow } from '../store/published.js';
import type { Artifact } from './keys.js';

/**
 * What happened at one published path: `published` (first time), `restored` (it was missing),
 * `updated` (a new result), `unchanged`, `edited` (changed by someone since pipe wrote it: left as
 * is), `removed` (no longer published).
 */
export type PublishStatus = 'published' | 'restored' | 'updated' | 'unchanged' | 'edited' | 'removed';

export interface PublishedFile {
  readonly path: string;
  readonly status: PublishStatus;
  readonly id: string;
  readonly output: string;
  /** For `edited`: what to do about it. */
  readonly hint?: string;
}

/** One output to publish: its workspace path and where it is in the store. */
export interface PublishSource {
  readonly path: string;
  readonly id: string;
  readonly output: string;
  readonly key: string;
  readonly artifact: Artifact;
}

export interface PublishOptions {
  readonly workspace: string;
  readonly store: Store;
  readonly hashes: HashCache;
  /** The pipeline file (relative to the workspace) the outputs belong to. */
  readonly pipeline: string;
  /** Overwrite edited paths (`pipe checkout --force`). */
  readonly force?: boolean;
  /** Remove files this pipeline published earlier at paths it no longer declares. */
  readonly declared?: ReadonlySet<string>;
}

function makeReadOnly(path: string): void {
  if (lstatSync(path).isDirectory()) for (const e of readdirSync(path)) makeReadOnly(join(path, e));
  else chmodSync(path, 0o444);
}

/** Copies `src` to `dst` through a temporary name, so a crash leaves the old file or the new one. */
function place(src: string, dst: string): void {
  mkdirSync(dirname(dst), { recursive: true });
  const tmp = `${dst}.pipe-${process.pid}-${randomBytes(3).toString('hex')}`;
  cpSync(src, tmp, { recursive: true, mode: constants.COPYFILE_FICLONE });
  makeReadOnly(tmp);
  // rename() cannot replace a directory, so the old one goes first (a crash here leaves it missing:
  // the next run restores it).
  if (lstatSync(tmp).isDirectory()) rmSync(dst, { recursive: true, force: true });
  renameSync(tmp, dst);
}

function currentHash(hashes: HashCache, abs: string): string | undefined {
  if (!existsSync(abs)) return undefined;
  try {
    return hashes.hashPath(abs);
  } catch {
    return 'unreadable';
  }
}

export function publish(sources: readonly PublishSource[], o: PublishOptions): PublishedFile[] {
  const recorded = publishedRows(o.store);
  const written: PublishedRow[] = [];
  const forgotten: string[] = [];
  const out: PublishedFile[] = [];
  for (const s of sources) {
    const abs = join(o.workspace, s.path);
    const rec = recorded.get(s.path);
    const cur = currentHash(o.hashes, abs);
    const row: PublishedRow = { path: s.path, pipeline: o.pipeline, instanceId: s.id, output: s.output, key: s.key, hash: s.artifact.hash };
    const file = { path: s.path, id: s.id, output: s.output };
    if (cur === s.artifact.hash) {
      out.push({ ...file, status: 'unchanged' });
      if (!rec || rec.hash !== row.hash || rec.key !== row.key || rec.instanceId !== row.instanceId) written.push(row);
      continue;
    }
    if (cur !== undefined && !o.force && cur !== rec?.hash) {
      out.push({
        ...file,
        status: 'edited',
        hint: rec ? `changed since pipe published it: not overwritten (pipe checkout --force '${s.path}' restores the run's version)` : `exists and was not written by pipe: not overwritten (move it away, or pipe checkout --force '${s.path}')`,
      });
      continue;
    }
    place(s.artifact.path, abs);
    written.push(row);
    out.push({ ...file, status: cur !== undefined ? 'updated' : rec ? 'restored' : 'published' });
  }
  if (o.declared) {
    for (const rec of recorded.values()) {
      if (rec.pipeline !== o.pipeline || o.declared.has(rec.path)) continue;
      const abs = join(o.workspace, rec.path);
      const cur = currentHash(o.hashes, abs);
      forgotten.push(rec.path);
      const file = { path: rec.path, id: rec.instanceId, output: rec.output };
      if (cur === rec.hash) {
        rmSync(abs, { recursive: true, force: true });
        out.push({ ...file, status: 'removed' });
      } else if (cur !== undefined) out.push({ ...file, status: 'edited', hint: 'no longer published by the pipeline, but changed since pipe wrote it: left in place' });
    }
  }
  o.hashes.flush();
  updatePublished(o.store, written, forgotten);
  return out;
}

/**
 * The end of a run: publishes the outputs of every instance the run ran or restored, records them
 * as the run's, and cleans up what the pipeline no longer publishes.
 */
export function publishRun(
  p: Pipeline,
  runId: number,
  done: ReadonlyMap<string, { readonly key: string; readonly artifacts: ReadonlyMap<string, Artifact> }>,
  store: Store,
  hashes: HashCache,
): PublishedFile[] {
  const sources: PublishSource[] = [];
  for (const [path, { id, output }] of p.publishes) {
    const d = done.get(id);
    const artifact = d?.artifacts.get(output);
    if (d && artifact) sources.push({ path, id, output, key: d.key, artifact });
  }
  recordRunPublished(store, runId, sources.map((s) => ({ path: s.path, instanceId: s.id, output: s.output, key: s.key })));
  return publish(sources, { workspace: p.workspace, store, hashes, pipeline: p.relFile, declared: new Set(p.publishes.keys()) });
}
