// The experiment table (`pipe exp show`, the HTML page): one row per run (or per stage instance of a
// run), the params that differ between the rows and the chosen metrics. A metric column is a metric name
// with its tags (`acc{seed=1}`); its cell is the value at the final step, the best step or step N. Each
// stage key's rows are read and summarised once, however many runs restored that key from the cache.
import type { Json, TagValue } from '../stage-api.js';
import type { RunRow, RunStatus, Store, StoredMetric } from '../store/index.js';

export type StepChoice = 'final' | 'best' | number;

export class ResultsError extends Error {
  override readonly name = 'ResultsError';
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export interface ExpRow {
  readonly run: number;
  /** Stage instance id (per-instance rows only). */
  readonly instance?: string;
  readonly pipeline: string;
  readonly status: RunStatus;
  readonly startedAt: number;
  readonly params: Readonly<Record<string, string | number | boolean | null>>;
  readonly metrics: Readonly<Record<string, number | null>>;
}

export interface ExpTable {
  readonly step: StepChoice;
  /** Param column names (dotted), in order. */
  readonly params: readonly string[];
  /** Metric column labels, in order. */
  readonly metrics: readonly string[];
  readonly rows: readonly ExpRow[];
}

export interface ExpOptions {
  readonly runs: readonly RunRow[];
  readonly instances?: boolean;
  /** Glob over metric labels (default every metric). */
  readonly metrics?: string;
  /** Glob over param names; without it, the params whose values differ between the rows. */
  readonly params?: string;
  readonly step?: StepChoice;
  readonly sort?: string;
  readonly descending?: boolean;
}

/** `name` or `name{k=v,...}` (tags sorted by key): the column a metric row belongs to. */
export function metricLabel(name: string, tags: Readonly<Record<string, TagValue>>): string {
  const keys = Object.keys(tags).sort();
  return keys.length ? `${name}{${keys.map((k) => `${k}=${tags[k]}`).join(',')}}` : name;
}

/**
 * Shell-style glob (`*`, `?`) over whole labels. Written here rather than taking picomatch: labels are not
 * paths, so `*` must also match `/` and `{` must stay literal, which path-glob libraries treat specially.
 */
export function globMatcher(glob: string | undefined): (s: string) => boolean {
  if (glob === undefined) return () => true;
  const alternatives = glob.split(',').map((g) => new RegExp(`^${g.trim().replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`));
  return (s) => alternatives.some((re) => re.test(s));
}

/** Names that are minimised (losses, errors); every other metric is maximised by `--step best`. */
const LOWER_IS_BETTER = /(^|[._-])(loss|error|err|mse|mae|rmse|perplexity)([._-]|$)/i;

export function lowerIsBetter(name: string): boolean {
  return LOWER_IS_BETTER.test(name);
}

/** One value per label of one stage key's rows, at the chosen step. */
function summarise(rows: readonly StoredMetric[], step: StepChoice, wanted: (label: string) => boolean): Map<string, number | null> {
  const byLabel = new Map<string, StoredMetric[]>();
  for (const r of rows) {
    const label = metricLabel(r.name, r.tags);
    if (!wanted(label)) continue;
    const list = byLabel.get(label);
    if (list) list.push(r);
    else byLabel.set(label, [r]);
  }
  const out = new Map<string, number | null>();
  for (const [label, list] of byLabel) {
    const pick = pickRow(list, step, lowerIsBetter(list[0].name));
    if (pick) out.set(label, pick.value);
  }
  return out;
}

function pickRow(rows: readonly StoredMetric[], step: StepChoice, lower: boolean): StoredMetric | undefined {
  if (typeof step === 'number') return rows.find((r) => r.step === step);
  const summary = rows.filter((r) => r.step === null);
  if (summary.length) return summary[summary.length - 1];
  if (step === 'final') return rows.reduce((a, b) => (b.step! >= a.step! ? b : a));
  const scored = rows.filter((r) => r.value !== null);
  if (!scored.length) return rows[rows.length - 1];
  return scored.reduce((a, b) => ((lower ? b.value! < a.value! : b.value! > a.value!) ? b : a));
}

type Scalar = string | number | boolean | null;

/** Params as dotted scalars: nested maps flattened, lists as JSON text. */
export function flattenParams(v: Json, prefix = '', out: Record<string, Scalar> = {}): Record<string, Scalar> {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) flattenParams(x, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) out[prefix] = Array.isArray(v) ? JSON.stringify(v) : v;
  return out;
}

/** Matrix values from an instance id: `train@seed=3,lr=0.1` -> { 'matrix.seed': 3, 'matrix.lr': 0.1 }. */
function matrixOf(instanceId: string): Record<string, Scalar> {
  const at = instanceId.indexOf('@');
  if (at < 0) return {};
  const out: Record<string, Scalar> = {};
  for (const part of instanceId.slice(at + 1).split(',')) {
    const eq = part.indexOf('=');
    const raw = part.slice(eq + 1);
    out[`matrix.${part.slice(0, eq)}`] = raw !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  }
  return out;
}

/** Number-aware, stable, missing values last (whatever the direction). */
export function compareCells(a: Scalar | undefined, b: Scalar | undefined, descending = false): number {
  const missing = (x: Scalar | undefined): boolean => x === null || x === undefined || x === '';
  if (missing(a) || missing(b)) return missing(a) === missing(b) ? 0 : missing(a) ? 1 : -1;
  const c = typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b), undefined, { numeric: true });
  return descending ? -c : c;
}

export function buildExpTable(store: Store, o: ExpOptions): ExpTable {
  const step = o.step ?? 'final';
  const wanted = globMatcher(o.metrics);
  const links = store.resultKeys(o.runs.map((r) => r.id));
  const keys = [...new Set(links.map((l) => l.key))];
  const byKey = new Map<string, StoredMetric[]>();
  for (const m of store.metricsForKeys(keys)) {
    const list = byKey.get(m.stageKey);
    if (list) list.push(m);
    else byKey.set(m.stageKey, [m]);
  }
  const summaries = new Map<string, Map<string, number | null>>();
  for (const [key, rows] of byKey) summaries.set(key, summarise(rows, step, wanted));
  const runById = new Map(o.runs.map((r) => [r.id, r]));
  const rows: ExpRow[] = [];
  const grouped = new Map<string, { run: RunRow; instance?: string; metrics: Record<string, number | null> }>();
  for (const l of links) {
    const s = summaries.get(l.key);
    if (o.instances && !s?.size) continue;
    const id = o.instances ? `${l.runId}\u0000${l.instanceId}` : String(l.runId);
    let g = grouped.get(id);
    if (!g) grouped.set(id, (g = { run: runById.get(l.runId)!, ...(o.instances ? { instance: l.instanceId } : {}), metrics: {} }));
    for (const [label, v] of s ?? []) g.metrics[label] = v;
  }
  // Runs without results still get a row (a failed or running run shows its params).
  if (!o.instances) for (const r of o.runs) if (!grouped.has(String(r.id))) grouped.set(String(r.id), { run: r, metrics: {} });
  for (const g of grouped.values()) {
    rows.push({
      run: g.run.id,
      ...(g.instance !== undefined ? { instance: g.instance } : {}),
      pipeline: g.run.pipeline,
      status: g.run.status,
      startedAt: g.run.startedAt,
      params: { ...flattenParams(g.run.params), ...(g.instance ? matrixOf(g.instance) : {}) },
      metrics: g.metrics,
    });
  }
  const metrics = [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const params = selectParams(rows, o.params);
  return { step, params, metrics, rows: sortRows(rows, o) };
}

/** `glob` given: the matching params; otherwise the ones whose values differ between the rows. */
function selectParams(rows: readonly ExpRow[], glob: string | undefined): string[] {
  const names = [...new Set(rows.flatMap((r) => Object.keys(r.params)))].sort();
  if (glob !== undefined) return names.filter(globMatcher(glob));
  return names.filter((n) => new Set(rows.map((r) => JSON.stringify(r.params[n] ?? null))).size > 1);
}

function sortRows(rows: ExpRow[], o: ExpOptions): ExpRow[] {
  const byRun = (a: ExpRow, b: ExpRow): number => a.run - b.run || (a.instance ?? '').localeCompare(b.instance ?? '');
  if (!o.sort) return rows.sort(byRun);
  const key = o.sort;
  const cell = (r: ExpRow): Scalar | undefined => (key === 'run' ? r.run : key in r.metrics ? r.metrics[key] : r.params[key]);
  if (!rows.some((r) => cell(r) !== undefined)) {
    throw new ResultsError(`--sort ${key}: no such param or metric column`, 'name a column as `pipe exp show` prints it, e.g. --sort accuracy or --sort lr');
  }
  return rows.sort(byRun).sort((a, b) => compareCells(cell(a), cell(b), o.descending));
}

/** `latest`, `latest~N` or a run number, resolved against the store. */
export function resolveRun(store: Store, ref: string): RunRow {
  const m = /^latest(?:~(\d+))?$/.exec(ref);
  if (m) {
    const back = Number(m[1] ?? 0);
    const run = store.listRuns(back + 1)[back];
    if (!run) throw new ResultsError(`${ref}: the store holds fewer than ${back + 1} runs`, '`pipe runs` lists them');
    return run;
  }
  const id = Number(ref);
  const run = Number.isInteger(id) ? store.getRun(id) : undefined;
  if (!run) throw new ResultsError(`no run "${ref}" in this workspace's store`, 'give a run number (`pipe runs` lists them), latest or latest~N');
  return run;
}
