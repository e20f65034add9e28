// `pipe predict` finds the files a head was trained with through the run's recorded instances. Keys do not
// depend on upstream ids, so a head restored from the cache may name an upstream instance by an id it had
// before a rename: the run's output with the content hash recorded for that input is the one it read.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keyedPath, recordedInstances, RunArtifactError } from '../../src/report/run-artifacts.js';
import type { Json } from '../../src/stage-api.js';
import { openStore } from '../../src/store/index.js';

const dir = mkdtempSync(join(tmpdir(), 'pipe-run-artifacts-'));
const store = openStore(join(dir, 'runs', 'pipe.db'));
afterAll(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function commit(runId: number, instanceId: string, key: string, components: Json, artifacts: { name: string; path: string; hash: string }[]): void {
  const now = Date.now();
  const stage = instanceId.split('@')[0];
  store.commitInstance(
    { key, stage, instanceId, components, runId, startedAt: now, finishedAt: now, durationMs: 1, logPath: null, artifacts },
    [],
    { runId, instanceId, stage, key, status: 'ran', startedAt: now, durationMs: 1, logPath: null, error: null },
  );
}

describe('keyedPath', () => {
  const run = store.createRun('p.yaml', ['run', 'p.yaml'], {});
  // The embedding stage now has a matrix id; the head's stored components still say embed-iaps.
  commit(run, 'embed@dataset=iaps', 'ke', { code: { kind: 'k/embed' } }, [{ name: 'embeddings', path: 'runs/store/ke/e.bin', hash: 'h-iaps' }]);
  commit(run, 'other', 'ko', { code: { kind: 'k/other' } }, [{ name: 'embeddings', path: 'runs/store/ko/e.bin', hash: 'h-other' }]);
  commit(run, 'head', 'kh', { code: { kind: 'k/head' }, params: { embeddings: 'artifact:embed-iaps:embeddings' }, inputs: { 'embed-iaps:embeddings': 'h-iaps' } }, []);
  store.finishRun(run, 'succeeded');
  const instances = recordedInstances(store, dir, run);

  it('resolves an upstream id of the run directly, and a former id by the content hash it recorded', () => {
    expect(keyedPath(instances, dir, 'artifact:other:embeddings')).toBe(join(dir, 'runs/store/ko/e.bin'));
    expect(keyedPath(instances, dir, 'artifact:embed-iaps:embeddings')).toBe(join(dir, 'runs/store/ke/e.bin'));
  });

  it('says so when neither finds the output', () => {
    expect(() => keyedPath(instances, dir, 'artifact:embed-fi:embeddings')).toThrow(RunArtifactError);
  });
});
