// Rebuilding the run-cache index from the store. The store, not the database, is the truth about
// results: every entry carries `.pipe-entry.json` (entry.ts), written before the entry was renamed into
// place, so a lost, emptied or damaged `pipe.db` costs no recomputation. Each entry is verified in full
// (every file re-hashed against its record) before it is indexed; a damaged one is moved aside, as a
// restore would.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { MetricRow } from '../stage-api.js';
import { readJsonl } from '../io/jsonl.js';
import type { Store } from '../store/index.js';
import { checkEntry, ENTRY_MANIFEST, moveAside, readManifest } from './entry.js';
import type { Layout } from './layout.js';

export interface ReindexReport {
  /** Keys whose index rows were rebuilt from their entry. */
  readonly indexed: readonly string[];
  /** Entries the database already indexed (left as they are). */
  readonly present: number;
  /** Damaged entries, moved aside (never deleted) and left for the next run to rebuild. */
  readonly corrupt: readonly { readonly key: string; readonly problem: string; readonly movedTo: string }[];
  /** Entries without a readable manifest (committed before manifests were written): not indexed. */
  readonly skipped: readonly { readonly key: string; readonly why: string }[];
}

/** Every key that has an entry under runs/store/<2 hex>/<key>. */
function storedKeys(layout: Layout): string[] {
  const root = join(layout.runs, 'store');
  if (!existsSync(root)) return [];
  const keys: string[] = [];
  for (const prefix of readdirSync(root).sort()) {
    const dir = join(root, prefix);
    for (const key of readdirSync(dir).sort()) if (layout.store(key) === join(dir, key)) keys.push(key);
  }
  return keys;
}

/** Whether runs/store/ holds any entry (a fresh database beside it should be reindexed, not trusted). */
export function storeHasEntries(layout: Layout): boolean {
  return storedKeys(layout).length > 0;
}

/**
 * Indexes every store entry the database lacks. The rebuilt rows belong to one run recorded as
 * `(store reindex)`: the runs that built them are part of the lost history.
 */
export function reindex(layout: Layout, store: Store): ReindexReport {
  const indexed: string[] = [];
  const corrupt: { key: string; problem: string; movedTo: string }[] = [];
  const skipped: { key: string; why: string }[] = [];
  let present = 0;
  let runId: number | null = null;
  for (const key of storedKeys(layout)) {
    if (store.getCommitted(key)) {
      present++;
      continue;
    }
    const dir = layout.store(key);
    if (!existsSync(join(dir, ENTRY_MANIFEST))) {
      skipped.push({ key, why: `no ${ENTRY_MANIFEST} (committed by an older pipe, or an interrupted commit)` });
      continue;
    }
    let m;
    try {
      m = readManifest(dir);
    } catch (e) {
      skipped.push({ key, why: `${ENTRY_MANIFEST} is unreadable: ${(e as Error).message}` });
      continue;
    }
    if (m.key !== key) {
      skipped.push({ key, why: `${ENTRY_MANIFEST} describes another key (${m.key})` });
      continue;
    }
    const check = checkEntry(dir, m.files, true);
    if (!check.ok) {
      corrupt.push({ key, problem: check.problem, movedTo: moveAside(layout, key) });
      continue;
    }
    const restat = new Map(check.restat.map((f) => [f.path, f]));
    const files = m.files.map((f) => restat.get(f.path) ?? f);
    const metrics = m.metricsFile ? readJsonl<MetricRow>(join(dir, m.metricsFile)) : (m.metrics ?? []);
    runId ??= store.createRun('(store reindex)', ['store', 'reindex'], {});
    const { version: _v, files: _f, metricsFile: _mf, metrics: _m, ...described } = m;
    store.commitInstance({ ...described, artifacts: [...described.artifacts], runId }, metrics, null, files);
    indexed.push(key);
  }
  if (runId !== null) store.finishRun(runId, 'succeeded');
  return { indexed, present, corrupt, skipped };
}

/** What a reindex did, as lines for the user; `why` says what prompted it. */
export function describeReindex(r: ReindexReport, why: string): string[] {
  const lines = [`pipe: ${why}: indexed ${r.indexed.length} results from runs/store/ (${r.present} already indexed), nothing recomputed`];
  for (const c of r.corrupt) lines.push(`corrupt ${c.key}: ${c.problem}; moved to ${c.movedTo}`);
  for (const s of r.skipped) lines.push(`skipped ${s.key}: ${s.why}`);
  return lines;
}
