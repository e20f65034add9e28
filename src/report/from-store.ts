// Tables of a recorded run, from the results store: the metric rows of every instance the run ran or
// restored from cache, so `pipe tables RUN` shows what that run's pipeline produced, whatever was cached.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { studyRows } from '../formats.js';
import type { Store } from '../store/index.js';
import { recordedInstances, RunArtifactError, runModel } from './run-artifacts.js';
import type { ReportInput } from './report.js';

export class RunNotFoundError extends Error {
  override readonly name = 'RunNotFoundError';
}

/** The report input of run `runId` (throws RunNotFoundError with a hint when there is no such run). */
export function runReportInput(store: Store, workspace: string, runId: number, tags: Readonly<Record<string, string>> = {}): ReportInput {
  const run = store.getRun(runId);
  if (!run) {
    const recent = store.listRuns(5).map((r) => r.id);
    throw new RunNotFoundError(
      `no run ${runId} in this workspace's store` + (recent.length ? ` (recent runs: ${recent.join(', ')}; \`pipe runs\` lists them)` : ' (no runs yet)'),
    );
  }
  const stored = store.metricsForRun(runId);
  const rows = studyRows(stored);
  const instances = new Set(stored.map((r) => r.instanceId)).size;
  const pipelineFile = resolve(workspace, run.pipeline);
  let model: string | undefined;
  try {
    const m = runModel(recordedInstances(store, workspace, runId), workspace);
    model = `${relative(workspace, m.dir) || m.dir} (${m.dtype}${m.hash ? `, sha256 ${m.hash}` : ''})`;
  } catch (e) {
    // A run without CLIP embeddings (e.g. only baselines) has no model to name.
    if (!(e instanceof RunArtifactError)) throw e;
  }
  return {
    rows,
    tags,
    date: new Date(run.startedAt),
    provenance: {
      run: `${run.id} (${run.status}, \`${['pipe', ...run.argv].join(' ')}\`)`,
      rendered_by: 'pipe tables',
      pipeline: existsSync(pipelineFile)
        ? `${run.pipeline} (sha256 ${createHash('sha256').update(readFileSync(pipelineFile)).digest('hex')}, the file as it is now)`
        : `${run.pipeline} (no longer on disk)`,
      model,
      params: run.params,
      sources: `${instances} stage instances of run ${run.id}`,
    },
  };
}
