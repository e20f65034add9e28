// The StageContext a built-in kind's `run` (or `runGroup`, one per member) gets, built from plain data
// and four channels. On the engine's thread the channels write the log, report progress, buffer metric
// rows and hash through the run's hash cache directly (execute.ts); in a worker thread (kind-worker.ts)
// they are messages to the engine's thread, which does the same there. Only data that survives a
// structured clone is in `MemberData`, so one builder serves both sides.
import { join } from 'node:path';
import { StageError, type Json, type MetricRow, type Progress, type RunInfo, type StageContext, type StageKind } from '../stage-api.js';

/** What a member's context holds besides its channels: plain data (it crosses to a worker thread). */
export interface MemberData {
  readonly params: unknown;
  readonly matrix: Readonly<Record<string, Json>>;
  readonly instanceId: string;
  readonly workspace: string;
  readonly run: RunInfo;
  readonly outDir: string;
  readonly resumeDir: string;
  readonly kindCacheDir: string;
  /** The values of the secrets the instance declares, and only those. */
  readonly secrets: Readonly<Record<string, string>>;
}

/** Where a context's log lines, progress, metric rows and hash requests go. */
export interface Channels {
  log(line: string): void;
  progress(p: Progress): void;
  metric(row: MetricRow): void;
  hashFiles(paths: readonly string[]): Promise<string[]>;
}

export function stageContext(kind: StageKind<unknown>, m: MemberData, ch: Channels, signal: AbortSignal): StageContext<unknown> {
  return {
    params: m.params,
    matrix: m.matrix,
    instanceId: m.instanceId,
    workspace: m.workspace,
    run: m.run,
    output(name: string): string {
      const spec = kind.outputs[name];
      if (!spec) throw new StageError(`${kind.kind} has no declared output "${name}"`, `declared: ${Object.keys(kind.outputs).join(', ')}`);
      return join(m.outDir, spec.path);
    },
    resumeDir: m.resumeDir,
    kindCacheDir: m.kindCacheDir,
    signal,
    log: (line) => ch.log(line),
    progress: (p) => ch.progress(p),
    metric: (row) => ch.metric(row),
    hashFiles: (paths) => ch.hashFiles(paths),
    secret(name: string): string {
      const v = m.secrets[name];
      if (v === undefined) throw new StageError(`${kind.kind}: secret ${name} was not declared`, `return it from the kind's secrets(), or list it under the stage's secrets:`);
      return v;
    },
  };
}
