// The experiment table (`pipe exp show`, the HTML page): one row per run (or per stage instance of a
// run), the params that differ between the rows and the chosen metrics. A metric column is a metric name
// with its tags (`acc{seed=1}`); its cell is the value at the final step, the best step or step N.
// SQLite does the reading (src/store: the distinct columns from an index, then one value per stage key
// and column), and only the columns a view shows are filled: a 100-run study store holds ~270,000 rows
// and ~2,000 columns, of which a terminal shows a handful.
import type { Json, TagValue } from '../stage-api.js';
import type { CellChoice, MetricColumn, RunRow, RunStatus, Store } from '../store/index.js';

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
  /** Metric column labels filled in, in order. */
  readonly metrics: readonly string[];
  /** Matching metric columns left out by `limit` (their labels, in order). */
  readonly moreMetrics: readonly string[];
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
  /** Glob over param and metric columns to leave out (`--drop`). */
  readonly drop?: string;
  /** Glob over columns always kept: exempt from `drop`, first among the metrics (`--keep`). */
  readonly keep?: string;
  /** Fill at most this many metric columns (the rest are listed in `moreMetrics`). */
  readonly limit?: number;
  /** A terminal's width: fill only the metric columns that fit beside the run and param columns. */
  readonly width?: number;
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

/** Number-aware text order (`acc2` before `acc10`); one collator, as localeCompare with options builds one per call. */
export const NUMERIC = new Intl.Collator(undefined, { numeric: true });

/** Names that are minimised (losses, errors); every other metric is maximised by `--step best`. */
const LOWER_IS_BETTER = /(^|[._-])(loss|error|err|mse|mae|rmse|perplexity)([._-]|$)/i;

export function lowerIsBetter(name: string): boolean {
  return LOWER_IS_BETTER.test(name);
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

/**
 * Metric columns in display order: `--keep` matches first, then by how few tags they have (a plain `acc`
 * before `acc{seed=1}`), then by label; each with the stored (name, tags) pairs that make it.
 */
function metricColumns(store: Store, keys: readonly string[], o: ExpOptions): Map<string, MetricColumn[]> {
  const wanted = globMatcher(o.metrics);
  const keep = o.keep === undefined ? () => false : globMatcher(o.keep);
  const drop = o.drop === undefined ? () => false : globMatcher(o.drop);
  const byLabel = new Map<string, { tags: number; sources: MetricColumn[] }>();
  for (const c of store.metricColumns(keys)) {
    const tags = JSON.parse(c.tags) as Record<string, TagValue>;
    const label = metricLabel(c.name, tags);
    if (!wanted(label) || (drop(label) && !keep(label))) continue;
    const entry = byLabel.get(label) ?? { tags: Object.keys(tags).length, sources: [] };
    entry.sources.push(c);
    byLabel.set(label, entry);
  }
  const order = [...byLabel].sort(([a, x], [b, y]) => Number(keep(b)) - Number(keep(a)) || x.tags - y.tags || NUMERIC.compare(a, b));
  return new Map(order.map(([label, e]) => [label, e.sources]));
}

function cellChoice(step: StepChoice, columns: Iterable<MetricColumn[]>): CellChoice {
  if (typeof step === 'number') return { kind: 'at', step };
  if (step === 'final') return { kind: 'final' };
  const names = new Set([...columns].flatMap((sources) => sources.map((c) => c.name)));
  return { kind: 'best', lower: [...names].filter(lowerIsBetter) };
}

/**
 * How many metric columns may fit in `width` beside run, status and the params: a metric column is
 * taken as wide as its header (a lower bound; the text renderer trims to the exact width).
 */
function fitting(labels: readonly string[], o: ExpOptions, width: number): number {
  const rows = o.runs.map((run) => toExpRow({ run, metrics: {} }));
  const params = selectParams(rows, o);
  const widthOf = (name: string, cells: readonly unknown[]): number => Math.max(name.length, ...cells.map((c) => String(c ?? '-').length)) + 2;
  // Two spaces between columns: none before the first.
  let used = widthOf('run', o.runs.map((r) => r.id)) + widthOf('status', o.runs.map((r) => r.status)) - 2;
  for (const p of params) used += widthOf(p, rows.map((r) => r.params[p]));
  let n = 0;
  while (n < labels.length && (used += labels[n].length + 2) <= width) n++;
  return n;
}

/** The columns to fill: all, or the first `limit` / those fitting `width` (plus the sort column, which ordering needs). */
function filled(labels: readonly string[], o: ExpOptions): string[] {
  const limit = Math.min(o.limit ?? Infinity, o.width === undefined ? Infinity : fitting(labels, o, o.width));
  if (labels.length <= limit) return [...labels];
  const chosen = labels.slice(0, limit);
  if (o.sort !== undefined && labels.includes(o.sort) && !chosen.includes(o.sort)) chosen.push(o.sort);
  return chosen;
}

interface Group {
  run: RunRow;
  instance?: string;
  metrics: Record<string, number | null>;
}

export function buildExpTable(store: Store, o: ExpOptions): ExpTable {
  const step = o.step ?? 'final';
  const links = store.resultKeys(o.runs.map((r) => r.id));
  const keys = [...new Set(links.map((l) => l.key))];
  const columns = metricColumns(store, keys, o);
  const labels = [...columns.keys()];
  const shown = filled(labels, o);
  const sources = shown.flatMap((label) => columns.get(label)!);
  const labelOf = new Map(shown.flatMap((label) => columns.get(label)!.map((c) => [`${c.name}\u0000${c.tags}`, label] as const)));
  const cells = new Map<string, [string, number | null][]>();
  const all = shown.length === labels.length && o.metrics === undefined && o.drop === undefined;
  for (const c of shown.length ? store.metricCells(keys, cellChoice(step, columns.values()), all ? undefined : sources) : []) {
    const list = cells.get(c.key) ?? [];
    list.push([labelOf.get(`${c.name}\u0000${c.tags}`)!, c.value]);
    cells.set(c.key, list);
  }
  const runById = new Map(o.runs.map((r) => [r.id, r]));
  const grouped = new Map<string, Group>();
  // Per-instance rows are the instances that recorded metrics, whether or not their columns are filled.
  const measured = o.instances ? store.keysWithMetrics(keys) : undefined;
  for (const l of links) {
    const s = cells.get(l.key);
    if (measured && !measured.has(l.key)) continue;
    const id = o.instances ? `${l.runId}\u0000${l.instanceId}` : String(l.runId);
    let g = grouped.get(id);
    if (!g) grouped.set(id, (g = { run: runById.get(l.runId)!, ...(o.instances ? { instance: l.instanceId } : {}), metrics: {} }));
    for (const [label, v] of s ?? []) g.metrics[label] = v;
  }
  // Runs without results still get a row (a failed or running run shows its params).
  if (!o.instances) for (const r of o.runs) if (!grouped.has(String(r.id))) grouped.set(String(r.id), { run: r, metrics: {} });
  const rows = [...grouped.values()].map(toExpRow);
  const params = selectParams(rows, o);
  const filledSet = new Set(shown);
  return { step, params, metrics: shown, moreMetrics: labels.filter((l) => !filledSet.has(l)), rows: sortRows(rows, o) };
}

function toExpRow(g: Group): ExpRow {
  return {
    run: g.run.id,
    ...(g.instance !== undefined ? { instance: g.instance } : {}),
    pipeline: g.run.pipeline,
    status: g.run.status,
    startedAt: g.run.startedAt,
    params: { ...flattenParams(g.run.params), ...(g.instance ? matrixOf(g.instance) : {}) },
    metrics: g.metrics,
  };
}

/** `--params GLOB` given: the matching params; otherwise the ones whose values differ between the rows. */
function selectParams(rows: readonly ExpRow[], o: ExpOptions): string[] {
  const names = [...new Set(rows.flatMap((r) => Object.keys(r.params)))].sort();
  const keep = o.keep === undefined ? () => false : globMatcher(o.keep);
  const drop = o.drop === undefined ? () => false : globMatcher(o.drop);
  const differ = (n: string): boolean => new Set(rows.map((r) => JSON.stringify(r.params[n] ?? null))).size > 1;
  const chosen = o.params !== undefined ? names.filter(globMatcher(o.params)) : names.filter((n) => differ(n) || keep(n));
  return chosen.filter((n) => !drop(n) || keep(n));
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
