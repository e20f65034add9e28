// A stage context for benchmarks that call a built-in kind's `run` in-process, without the engine: outputs
// under DIR/out, content hashes computed once (as the engine's stat-keyed cache serves them on a re-run).
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StageContext, StageKind } from '../src/stage-api.js';

const hashes = new Map<string, string>();

/** sha256 of a file, read once per process: benchmarks hash outside their timed part. */
export function hashOnce(path: string): string {
  let h = hashes.get(path);
  if (!h) hashes.set(path, (h = createHash('sha256').update(readFileSync(path)).digest('hex')));
  return h;
}

export function benchStageContext<P>(kind: StageKind<P>, params: P, dir: string, instanceId: string): StageContext<P> {
  mkdirSync(join(dir, 'out'), { recursive: true });
  return {
    params,
    matrix: {},
    instanceId,
    workspace: dir,
    run: { id: 0, pipelineFile: '(bench)', pipelineHash: '', codeVersion: '(bench)' },
    output: (name) => join(dir, 'out', kind.outputs[name].path),
    resumeDir: join(dir, 'resume'),
    kindCacheDir: join(dir, 'cache'),
    signal: new AbortController().signal,
    log: () => undefined,
    progress: () => undefined,
    metric: () => undefined,
    hashFiles: async (paths) => paths.map(hashOnce),
    secret: (name) => {
      throw new Error(`the benchmark ${instanceId} has no secret ${name}`);
    },
  };
}
