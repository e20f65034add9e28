// Queries of the published-outputs tables: what pipe last wrote to each workspace path, and what each
// run published. A module of its own so that the publishing code (src/engine/publish.ts) does not
// widen the Store class every other part of the engine uses.
import type { Store } from './index.js';

/** One published output: a workspace path and the stage output it holds. */
export interface PublishedRow {
  /** Relative to the workspace. */
  readonly path: string;
  readonly pipeline: string;
  readonly instanceId: string;
  readonly output: string;
  readonly key: string;
  /** Content hash of what pipe wrote there. */
  readonly hash: string;
}

export type RunPublishedRow = Omit<PublishedRow, 'pipeline' | 'hash'>;

interface Raw {
  path: string;
  pipeline: string;
  instance_id: string;
  output: string;
  key: string;
  hash: string;
}

const fromRaw = (r: Raw): PublishedRow => ({ path: r.path, pipeline: r.pipeline, instanceId: r.instance_id, output: r.output, key: r.key, hash: r.hash });

export function publishedRows(store: Store): Map<string, PublishedRow> {
  const rows = store.db.prepare(`SELECT * FROM published`).all() as Raw[];
  return new Map(rows.map((r) => [r.path, fromRaw(r)]));
}

/** Records what is now at each path, and forgets paths pipe no longer manages, in one transaction. */
export function updatePublished(store: Store, written: readonly PublishedRow[], forgotten: readonly string[]): void {
  if (!written.length && !forgotten.length) return;
  const put = store.db.prepare(
    `INSERT OR REPLACE INTO published (path, pipeline, instance_id, output, key, hash) VALUES (@path, @pipeline, @instanceId, @output, @key, @hash)`,
  );
  const drop = store.db.prepare(`DELETE FROM published WHERE path = ?`);
  store.db.transaction(() => {
    for (const r of written) put.run(r);
    for (const p of forgotten) drop.run(p);
  })();
}

export function recordRunPublished(store: Store, runId: number, rows: readonly RunPublishedRow[]): void {
  if (!rows.length) return;
  const put = store.db.prepare(`INSERT OR REPLACE INTO run_published (run_id, path, instance_id, output, key) VALUES (?, ?, ?, ?, ?)`);
  store.db.transaction(() => {
    for (const r of rows) put.run(runId, r.path, r.instanceId, r.output, r.key);
  })();
}

export function runPublished(store: Store, runId: number): RunPublishedRow[] {
  const rows = store.db.prepare(`SELECT path, instance_id, output, key FROM run_published WHERE run_id = ? ORDER BY path`).all(runId) as Raw[];
  return rows.map((r) => ({ path: r.path, instanceId: r.instance_id, output: r.output, key: r.key }));
}
