// A workspace written by schema version 1 of the store (test/fixtures/store-v1, made by the released code)
// is opened by this version: migrated in place to the schema a fresh store has, every old run, result and
// metric still readable, and its results still served from the cache.
import Database from 'better-sqlite3';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { REPO_ROOT, runEngine, runPipe, statuses, tempWorkspace, type TempWorkspace } from '../support/index.js';

const FIXTURE = join(REPO_ROOT, 'test/fixtures/store-v1');

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

/** user_version and every table, index and column definition, as SQLite reports them. */
function schemaOf(file: string): { version: number; objects: unknown[] } {
  const db = new Database(file, { readonly: true });
  try {
    return {
      version: db.pragma('user_version', { simple: true }) as number,
      objects: db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name").all(),
    };
  } finally {
    db.close();
  }
}

function rowsOf(file: string, table: string): unknown[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(`SELECT * FROM ${table} ORDER BY 1`).all();
  } finally {
    db.close();
  }
}

function v1Workspace(): string {
  ws = tempWorkspace('pipe-v1-');
  cpSync(FIXTURE, ws.dir, { recursive: true });
  return ws.dir;
}

describe('a store written by schema version 1', () => {
  it('is migrated to the schema of a fresh store', () => {
    const dir = v1Workspace();
    expect(schemaOf(join(dir, 'runs/pipe.db')).version).toBe(1);
    openStore(join(dir, 'runs/pipe.db')).close();
    openStore(ws.path('fresh/pipe.db')).close();
    expect(schemaOf(join(dir, 'runs/pipe.db'))).toEqual(schemaOf(ws.path('fresh/pipe.db')));
    // Rows carried across the tables a migration rebuilds (hash_cache became WITHOUT ROWID).
    expect(rowsOf(join(dir, 'runs/pipe.db'), 'hash_cache')).toEqual(rowsOf(join(FIXTURE, 'runs/pipe.db'), 'hash_cache'));
    expect(rowsOf(join(dir, 'runs/pipe.db'), 'hash_cache')).toHaveLength(1);
    // Opening again is a no-op.
    openStore(join(dir, 'runs/pipe.db')).close();
    expect(schemaOf(join(dir, 'runs/pipe.db'))).toEqual(schemaOf(ws.path('fresh/pipe.db')));
  });

  it('keeps every run, result and metric readable', () => {
    const store = openStore(join(v1Workspace(), 'runs/pipe.db'));
    try {
      expect(store.listRuns().map((r) => [r.id, r.pipeline, r.status])).toEqual([
        [4, 'm.yaml', 'failed'],
        [3, 'p.yaml', 'succeeded'],
        [2, 'p.yaml', 'succeeded'],
        [1, 'p.yaml', 'succeeded'],
      ]);
      expect(store.getRun(3)!.argv).toEqual(['run', 'p.yaml', '--set', 'n=x', '--set', 'seeds=[1]', '--json']);
      expect(store.runCounts().get(2)).toEqual({ ran: 2, cached: 3 });
      const failed = store.runInstances(4).find((i) => i.instanceId === 'broken')!;
      expect(failed).toMatchObject({ status: 'failed', error: 'command exited with code 3', logPath: 'runs/logs/4/broken.log' });
      const metrics = store.metricsForRun(4);
      // A later schema made metric rows generic: the old columns are tags, the epoch is the step.
      expect(metrics.map((m) => [m.name, m.value, m.tags.seed, m.step])).toEqual([
        ['accuracy', 0.5, 7, 1],
        ['confusion', null, 7, null],
      ]);
      // Every label column of the old rows is a tag, beside the row's own tags.
      expect(metrics.map((m) => m.tags)).toEqual([
        { loss: 'soft', method: 'm', dataset: 'd', taxonomy: 't2', seed: 7 },
        { method: 'm', dataset: 'd', taxonomy: 't2', seed: 7 },
      ]);
      expect(metrics[1].detail).toEqual({ labels: ['a', 'b'], matrix: [[1, 0], [0, 1]] });
      const gen = store.instanceHistory('gen').find((i) => i.runId === 1)!;
      expect(store.getCommitted(gen.key!)!.artifacts.map((a) => [a.name, a.path])).toEqual([
        ['data', `runs/store/${gen.key!.slice(0, 2)}/${gen.key}/data.txt`],
      ]);
    } finally {
      store.close();
    }
  });

  it('makes a label column a tag only where it has a value, over a tag of the same name', () => {
    const file = join(v1Workspace(), 'runs/pipe.db');
    const v1 = new Database(file);
    try {
      // As the released code wrote a row without a seed (a summary over seeds), with a tag of that name.
      v1.prepare('INSERT INTO metrics SELECT 3, run_id, instance_id, stage_key, method, dataset, taxonomy, NULL, 2, ?, 0.25, NULL, ? FROM metrics WHERE id = 1').run('loss', JSON.stringify({ seed: 'all', method: 'own' }));
    } finally {
      v1.close();
    }
    const store = openStore(file);
    try {
      const row = store.metricsForRun(4).find((m) => m.name === 'loss')!;
      expect([row.value, row.step, row.tags]).toEqual([0.25, 2, { seed: 'all', method: 'm', dataset: 'd', taxonomy: 't2' }]);
    } finally {
      store.close();
    }
  });

  it('re-keys once (key scheme 2), then serves its results to the next run', async () => {
    // Key scheme 2 (upstream outputs by content hash, not by the producing instance's id) changed every
    // key once: the first run after the upgrade recomputes everything, deliberately (docs/engine.md,
    // "Key scheme"). Nothing else a schema migration touches is in a key, so from then on it caches.
    const dir = v1Workspace();
    // `pipe status` says so, rather than "outputs gone" (run 3 of the fixture used these --set values).
    const status = await runPipe(['status', 'p.yaml', '--set', 'n=x', '--set', 'seeds=[1]'], { cwd: dir });
    expect(status.stdout).toContain('stale       gen  (same inputs, but keys are computed differently since it ran (key scheme 2, docs/engine.md): it runs once again)');
    expect(statuses(await runEngine(dir, 'p.yaml'))).toEqual({ ran: ['all', 'gen', 'use@seed=1', 'use@seed=2'] });
    expect(statuses(await runEngine(dir, 'p.yaml'))).toEqual({ cached: ['all', 'gen', 'use@seed=1', 'use@seed=2'] });
    expect(statuses(await runEngine(dir, 'p.yaml', { sets: ['seeds=[1,2,3]'] }))).toEqual({ ran: ['all', 'use@seed=3'], cached: ['gen', 'use@seed=1', 'use@seed=2'] });
  });
});
