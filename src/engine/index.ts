// The programmatic API: what the CLI calls, and what in-process tests and tools use.
import { resolve } from 'node:path';
import { loadPipeline } from '../pipeline/load.js';
import type { Pipeline } from '../pipeline/types.js';
import type { StageKind } from '../stage-api.js';
import { backupDatabase } from '../store/backup.js';
import { PipelineInvalidError } from './errors.js';
import { Layout } from './layout.js';
import { missingInputs } from './preflight.js';
import type { ExecOptions } from './runner.js';
import { select } from './select.js';
import type { RunResult } from './results.js';

export type { InstanceResult, Outcome, RunResult } from './results.js';
export type { Reporter } from './progress.js';
export { PlainReporter, TtyReporter, silentReporter } from './progress.js';
export { PipelineInvalidError, UsageError } from './errors.js';
export type { ExecOptions } from './runner.js';

export interface PipelineOptions {
  /** Pipeline file, relative to the workspace or absolute. */
  readonly file: string;
  /** The directory that holds `runs/` (default: the current directory). */
  readonly workspace?: string;
  /** `name=value` param overrides. */
  readonly sets?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** Stage kinds defined in-process, in addition to the built-in registry. */
  readonly kinds?: Readonly<Record<string, StageKind<unknown>>>;
}

export type RunPipelineOptions = PipelineOptions & ExecOptions;


export async function openPipeline(o: PipelineOptions): Promise<Pipeline> {
  const workspace = resolve(o.workspace ?? process.cwd());
  const loaded = await loadPipeline(o.file, { workspace, sets: o.sets ?? [], env: o.env ?? process.env, ...(o.kinds ? { kinds: o.kinds } : {}) });
  if (!loaded.ok) throw new PipelineInvalidError(loaded.diagnostics);
  return loaded.pipeline;
}

/** Loads, validates and runs a pipeline; per-instance results (ran, cached, failed, skipped). */
export async function runPipeline(o: RunPipelineOptions): Promise<RunResult> {
  const p = await openPipeline(o);
  // Every missing outside input at once, before any stage starts (see preflight.ts).
  const missing = missingInputs(p, select(p, o).considered, o.env);
  if (missing.length) throw new PipelineInvalidError(missing);
  // The runner (executors, Slurm, the stage pool, metric-file parsers) loads only for a run: `pipe status`,
  // `validate` and `dag` open the pipeline without it.
  const { execPipeline } = await import('./runner.js');
  const result = await execPipeline(p, o);
  // A run that committed new results is followed by a backup of the database (a no-op re-run adds
  // nothing worth a copy, and must stay cheap).
  if (result.status === 'succeeded' && result.run !== null && result.instances.some((i) => i.status === 'ran'))
    await backupDatabase(new Layout(p.workspace).db, result.run);
  return result;
}
