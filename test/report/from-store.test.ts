import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runReportInput, RunNotFoundError } from '../../src/report/from-store.js';
import { buildDocument } from '../../src/report/report.js';
import { openStore } from '../../src/store/index.js';
import { toMetricRow, type StudyMetric } from '../../src/formats.js';
import { row, trained } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'pipe-report-store-'));
const store = openStore(join(dir, 'runs', 'pipe.db'));
afterAll(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function commit(runId: number, instanceId: string, key: string, metrics: StudyMetric[], status: 'ran' | 'cached' = 'ran'): void {
  const now = Date.now();
  store.commitInstance(
    { key, stage: instanceId.split('@')[0], instanceId, components: {}, runId, startedAt: now, finishedAt: now, durationMs: 1, logPath: null, artifacts: [] },
    metrics.map(toMetricRow),
    { runId, instanceId, stage: instanceId.split('@')[0], key, status, startedAt: now, durationMs: 1, logPath: null, error: null },
  );
}

describe('tables of a recorded run', () => {
  it('uses the rows of instances the run ran and the ones it restored from cache', () => {
    const r1 = store.createRun('pipelines/demo.yaml', ['run', 'pipelines/demo.yaml'], { seeds: [0, 1] });
    commit(r1, 'train-ce@seed=0,taxonomy=webemo6', 'k0', trained('clipe_cross_entropy', 'webemo6', [0], () => 2, (_, e) => 0.5 + e / 100));
    commit(r1, 'zero-shot', 'kz', [row('clip_zero_shot', 'webemo6', null, null, 0.4)]);
    store.finishRun(r1, 'succeeded');
    // Run 2 re-trains seed 1 and takes seed 0 and zero-shot from the cache.
    const r2 = store.createRun('pipelines/demo.yaml', ['run', 'pipelines/demo.yaml'], { seeds: [0, 1] });
    commit(r2, 'train-ce@seed=1,taxonomy=webemo6', 'k1', trained('clipe_cross_entropy', 'webemo6', [1], () => 2, (_, e) => 0.52 + e / 100));
    store.recordRunInstances([
      { runId: r2, instanceId: 'train-ce@seed=0,taxonomy=webemo6', stage: 'train-ce', key: 'k0', status: 'cached', startedAt: null, durationMs: null, logPath: null, error: null },
      { runId: r2, instanceId: 'zero-shot', stage: 'zero-shot', key: 'kz', status: 'cached', startedAt: null, durationMs: null, logPath: null, error: null },
    ]);
    store.finishRun(r2, 'succeeded');

    const one = buildDocument(runReportInput(store, dir, r1)).cells.final.find((c) => c.method === 'clipe_cross_entropy' && c.taxonomy === 'webemo6')!;
    expect(one.values).toHaveLength(1);
    const two = buildDocument(runReportInput(store, dir, r2));
    const ce = two.cells.final.find((c) => c.method === 'clipe_cross_entropy' && c.taxonomy === 'webemo6')!;
    expect(ce.seeds).toEqual([0, 1]);
    expect(ce.mean).toBeCloseTo(53, 10);
    expect(two.cells.final.find((c) => c.method === 'clip_zero_shot' && c.taxonomy === 'webemo6')!.mean).toBeCloseTo(40, 10);
    expect(two.provenance.run).toContain(`${r2} (succeeded`);
    expect(two.provenance.pipeline).toBe('pipelines/demo.yaml (no longer on disk)');
  });

  it('names the recent runs when the run does not exist', () => {
    expect(() => runReportInput(store, dir, 99)).toThrow(RunNotFoundError);
    expect(() => runReportInput(store, dir, 99)).toThrow(/recent runs: 2, 1/);
  });
});
