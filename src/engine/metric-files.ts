// Metrics and plot series that a command stage writes into its declared outputs, read into metric rows
// at commit (they are stored in the same transaction as the outputs). A summary file is a JSON or YAML
// map (nested keys flattened to dotted names); a history is CSV/TSV or JSONL rows (or a JSON list of
// rows) whose `step` column (or the plot's `x`) is the step. A file that cannot be read as such fails the
// stage, naming the file and the line.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { StageError, type MetricRow, type TagValue } from '../stage-api.js';

/** `plots:` entry of a command stage: which columns of an output are drawn against which. */
export interface PlotDecl {
  readonly out: string;
  readonly x: string;
  readonly y: string | readonly string[];
}

/** A table row with the line it came from (for messages). */
interface SourceRow {
  readonly line: number;
  readonly values: Readonly<Record<string, unknown>>;
}

function fail(file: string, line: number | undefined, message: string, hint?: string): never {
  throw new StageError(`${file}${line ? `:${line}` : ''}: ${message}`, hint);
}

/** A cell as a metric value: numbers, numeric strings (CSV), booleans as 0/1, null/empty as not computable. */
function valueOf(v: unknown, file: string, line: number, name: string): number | null {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  if (typeof v === 'string' && /^(nan|NaN|inf|-inf|Infinity|-Infinity)$/.test(v.trim())) return null;
  if (!Number.isFinite(n)) fail(file, line, `"${name}" is ${JSON.stringify(v)}, not a number`, 'metrics files hold numbers (or null); put text into params or tags');
  return n;
}

/** Parses JSON or YAML keeping line numbers (YAML 1.2 reads JSON as well, with positions). */
function parseTree(text: string, file: string): { node: Node | null; lineOf: (n: Node) => number } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0];
    fail(file, e.linePos?.[0].line, e.message.split('\n')[0]);
  }
  return { node: doc.contents as Node | null, lineOf: (n) => lines.linePos(n.range?.[0] ?? 0).line };
}

/** Leaves of a map as dotted names, each with its line. */
function flatten(node: Node, prefix: string, lineOf: (n: Node) => number, file: string, out: SourceRow[]): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : fail(file, lineOf(pair.key as Node), 'a metrics key must be a plain name');
      const name = prefix ? `${prefix}.${key}` : key;
      if (pair.value === null) out.push({ line: lineOf(pair.key as Node), values: { [name]: null } });
      else flatten(pair.value as Node, name, lineOf, file, out);
    }
    return;
  }
  if (isSeq(node)) fail(file, lineOf(node), `"${prefix}" is a list; a summary file maps names to numbers`, 'write a series as CSV or JSONL rows with a step column');
  out.push({ line: lineOf(node), values: { [prefix]: isScalar(node) ? node.value : undefined } });
}

/** Rows of a table file: CSV/TSV with a header line, JSONL objects, or a JSON/YAML list of objects. */
function tableRows(path: string, file: string): SourceRow[] {
  const text = readFileSync(path, 'utf8');
  const ext = extname(path).toLowerCase();
  if (ext === '.csv' || ext === '.tsv') {
    try {
      const records = parseCsv(text, { columns: true, skip_empty_lines: true, trim: true, info: true, delimiter: ext === '.tsv' ? '\t' : ',' }) as { record: Record<string, string>; info: { lines: number } }[];
      return records.map((r) => ({ line: r.info.lines, values: r.record }));
    } catch (e) {
      const err = e as Error & { lines?: number };
      return fail(file, err.lines, err.message);
    }
  }
  if (ext === '.jsonl' || ext === '.ndjson') {
    return text.split('\n').flatMap((l, i) => {
      if (!l.trim()) return [];
      let v: unknown;
      try {
        v = JSON.parse(l);
      } catch (e) {
        return fail(file, i + 1, `not JSON: ${(e as Error).message}`);
      }
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(file, i + 1, 'a JSONL row must be an object');
      return [{ line: i + 1, values: flatObject(v as Record<string, unknown>) }];
    });
  }
  const { node, lineOf } = parseTree(text, file);
  if (!isSeq(node)) return fail(file, node ? lineOf(node) : 1, 'expected a list of rows (or use .csv / .jsonl)');
  return node.items.map((item) => {
    const rows: SourceRow[] = [];
    flatten(item as Node, '', lineOf, file, rows);
    return { line: rows[0]?.line ?? lineOf(item as Node), values: Object.assign({}, ...rows.map((r) => r.values)) as Record<string, unknown> };
  });
}

function flatObject(o: Record<string, unknown>, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [k, v] of Object.entries(o)) {
    const name = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) flatObject(v as Record<string, unknown>, name, out);
    else out[name] = v;
  }
  return out;
}

const TABLE_EXTS = new Set(['.csv', '.tsv', '.jsonl', '.ndjson']);

/** Rows of one `metrics:` output: a summary map, or a table whose `step` column is the step. */
export function readMetricsOutput(path: string, file: string, tags: Readonly<Record<string, TagValue>>): MetricRow[] {
  const ext = extname(path).toLowerCase();
  if (!TABLE_EXTS.has(ext)) {
    const { node, lineOf } = parseTree(readFileSync(path, 'utf8'), file);
    if (isMap(node)) {
      const leaves: SourceRow[] = [];
      flatten(node, '', lineOf, file, leaves);
      return leaves.flatMap((l) => Object.entries(l.values).map(([name, v]) => ({ name, value: valueOf(v, file, l.line, name), step: null, tags })));
    }
    if (!isSeq(node)) return fail(file, node ? lineOf(node) : 1, 'expected a map of metric names to numbers');
  }
  return seriesRows(tableRows(path, file), file, 'step', undefined, tags);
}

/** Rows of one `plots:` entry: each y column against the x column. */
export function readPlotOutput(path: string, file: string, plot: PlotDecl, tags: Readonly<Record<string, TagValue>>): MetricRow[] {
  const ys = typeof plot.y === 'string' ? [plot.y] : plot.y;
  return seriesRows(tableRows(path, file), file, plot.x, ys, tags);
}

/** Table rows as metric rows: `x` is the step (optional for metrics files), `ys` the columns (default all). */
function seriesRows(rows: readonly SourceRow[], file: string, x: string, ys: readonly string[] | undefined, tags: Readonly<Record<string, TagValue>>): MetricRow[] {
  const out: MetricRow[] = [];
  for (const r of rows) {
    const hasX = x in r.values;
    if (!hasX && ys) fail(file, r.line, `row has no "${x}" column`, `the plot's x must be a column of every row`);
    const step = hasX ? valueOf(r.values[x], file, r.line, x) : null;
    for (const name of ys ?? Object.keys(r.values).filter((k) => k !== x)) {
      if (!(name in r.values)) fail(file, r.line, `row has no "${name}" column`, `the plot's y must name columns of ${file}`);
      out.push({ name, value: valueOf(r.values[name], file, r.line, name), step, tags });
    }
  }
  return out;
}
