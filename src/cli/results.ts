// What the result-comparison commands (exp, params, metrics, plots, ui) share: opening the workspace's
// store read-only in spirit (they only SELECT), choosing runs, formats, and turning ResultsError into exit 1.
import { existsSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { UsageError } from '../engine/errors.js';
import { Layout } from '../engine/layout.js';
import { ResultsError, resolveRun as resolveRunRef, type StepChoice } from '../results/compare.js';
import type { TableFormat } from '../results/format.js';
import { openStore, type RunRow, type Store } from '../store/index.js';
import { failed } from './common.js';

/** Opens the store of `workspace`, runs `body`, closes it; ResultsError -> `pipe COMMAND: message` (exit 1). */
export async function withStore(command: string, workspace: string, body: (store: Store) => Promise<number> | number): Promise<number> {
  const db = new Layout(workspace).db;
  if (!existsSync(db)) return failed(command, { message: `no results store in ${workspace} (runs/pipe.db)`, hint: 'run a pipeline first, or pass --workspace DIR' });
  const store = openStore(db);
  try {
    return await body(store);
  } catch (e) {
    if (e instanceof ResultsError) return failed(command, e);
    throw e;
  } finally {
    store.close();
  }
}

export interface RunSelection {
  readonly file?: string;
  readonly runs?: string;
  readonly last?: string;
}

/** The runs a view shows: `--runs A,B` (ids, latest, latest~N), else the last N (default 20) of FILE or of all. */
export function selectRuns(store: Store, workspace: string, s: RunSelection, usage: string): RunRow[] {
  if (s.runs !== undefined && s.last !== undefined) throw new UsageError('give --runs or --last, not both', usage);
  if (s.runs !== undefined) {
    return s.runs.split(',').filter(Boolean).map((ref) => resolveRunRef(store, ref.trim()));
  }
  const last = s.last === undefined ? 20 : Number(s.last);
  if (!Number.isInteger(last) || last < 1) throw new UsageError(`--last expects a positive whole number, got "${s.last}"`, usage);
  const pipeline = s.file === undefined ? undefined : relative(workspace, resolve(s.file));
  const runs = pipeline === undefined ? store.listRuns(last) : store.listRuns(100_000).filter((r) => r.pipeline === pipeline).slice(0, last);
  if (!runs.length) throw new ResultsError(pipeline ? `no runs of ${pipeline} in this workspace` : 'no runs recorded in this workspace', '`pipe runs` lists them');
  return runs.reverse();
}

export function parseStep(v: string | undefined, usage: string): StepChoice {
  if (v === undefined || v === 'final' || v === 'best') return v ?? 'final';
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--step expects final, best or a step number, got "${v}"`, usage);
  return n;
}

export function formatOf(values: { json?: boolean; csv?: boolean; md?: boolean }, usage: string): TableFormat {
  const chosen = (['json', 'csv', 'md'] as const).filter((f) => values[f]);
  if (chosen.length > 1) throw new UsageError(`choose one of --${chosen.join(', --')}`, usage);
  return chosen[0] ?? 'text';
}
