// Tables of a recorded run, from the results store: the metric rows of every instance the run ran or
// restored from cache, so `pipe tables RUN` shows what that run's pipeline produced, whatever was cached.
import type { Store } from '../store/index.js';
import { buildDocument, type ReportInput } from './report.js';
import type { TablesDocument } from './markdown.js';

export class RunNotFoundError extends Error {
  override readonly name = 'RunNotFoundError';
}

/** The report input of run `runId` (throws RunNotFoundError with a hint when there is no such run). */
export function runReportInput(store: Store, runId: number, tags: Readonly<Record<string, string>> = {}): ReportInput {
  const run = store.getRun(runId);
  if (!run) {
    const recent = store.listRuns(5).map((r) => r.id);
    throw new RunNotFoundError(
      `no run ${runId} in this workspace's store` + (recent.length ? ` (recent runs: ${recent.join(', ')}; \`pipe runs\` lists them)` : ' (no runs yet)'),
    );
  }
  const rows = store.metricsForRun(runId);
  const instances = new Set(rows.map((r) => r.instanceId)).size;
  return {
    rows,
    tags,
    date: new Date(run.startedAt),
    provenance: {
      run: `${run.id} (${run.status}, \`${['pipe', ...run.argv].join(' ')}\`)`,
      rendered_by: 'pipe tables',
      pipeline: run.pipeline,
      params: run.params,
      sources: `${instances} stage instances of run ${run.id}`,
    },
  };
}

export function runDocument(store: Store, runId: number, tags: Readonly<Record<string, string>> = {}): TablesDocument {
  return buildDocument(runReportInput(store, runId, tags));
}
