// A results store written by the code before the generic metrics table (schema version 1: method,
// dataset, taxonomy, seed and epoch columns) migrates on open, and its runs still render.
// The fixture is runs/pipe.db of `pipe run pipelines/demo.yaml --set 'seeds=[0,1]' --set epochs=2
// --set webemo_images=200`, run twice (run 2 restored everything from the cache) at commit b1df8b5,
// with the hash cache emptied and the file vacuumed, then gzipped.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { studyRows } from '../../src/formats.js';
import { openStore } from '../../src/store/index.js';

const ws = mkdtempSync(join(tmpdir(), 'pipe-legacy-store-'));
const db = join(ws, 'runs', 'pipe.db');
mkdirSync(join(ws, 'runs'));
writeFileSync(db, gunzipSync(readFileSync(new URL('../fixtures/store-v1-demo.db.gz', import.meta.url))));
const before = new Database(db, { readonly: true });
const oldRows = before.prepare('SELECT * FROM metrics ORDER BY id').all() as { id: number; method: string; taxonomy: string; seed: number | null; epoch: number | null; metric: string; value: number | null }[];
const oldVersion = before.pragma('user_version', { simple: true });
before.close();
afterAll(() => rmSync(ws, { recursive: true, force: true }));

const pipe = (...args: string[]): string => execFileSync(process.execPath, ['bin/pipe.js', ...args, '-C', ws], { encoding: 'utf8' });

describe('a version-1 results store', () => {
  it('migrates every metric row into the generic form', () => {
    expect(oldVersion).toBe(1);
    const store = openStore(db);
    try {
      const rows = store.metricsForRun(1);
      expect(rows.length).toBe(oldRows.length);
      const study = studyRows(rows);
      expect(study.length).toBe(oldRows.length);
      const byId = new Map(oldRows.map((r) => [r.id, r]));
      // Same numbers, the epoch as the step, the old columns as tags.
      const sample = rows.find((r) => r.step !== null && r.tags.seed === 1)!;
      expect(sample.tags).toMatchObject({ method: expect.any(String), dataset: expect.any(String), taxonomy: expect.any(String) });
      for (const [i, s] of study.entries()) {
        const o = [...byId.values()][i];
        expect([s.method, s.taxonomy, s.seed, s.epoch, s.metric, s.value]).toEqual([o.method, o.taxonomy, o.seed, o.epoch, o.metric, o.value]);
      }
    } finally {
      store.close();
    }
  });

  it('renders the tables of its runs through the CLI', () => {
    const md = pipe('tables', '2');
    expect(md).toContain('Table I: trained and tested on WEBEmo (final epoch)');
    expect(md).toMatch(/\| CLIP-E Cross-Entropy \| [\d*.]+ ± [\d.]+/);
  });
});
