// Table cells: mean ± std over seeds of one metric, at the final epoch (the paper's tables) or at the best
// epoch per target dataset (the paper's generalisation observation), with best / second-best ranks and
// the paper's published value beside ours.
import { METHODS, type StudyMetric } from '../formats.js';
import { TABLES, type ColumnSpec, type TableSpec } from './layout.js';
import type { PaperResults, PaperValue } from './paper.js';
import { commonEpochs, finalEpochs, getSeries, indexSeries, meanAndStd, ReportDataError, variantsOf, type Series } from './series.js';

export type EpochMode = 'final' | 'best';

/** `value`: a number; `x`: not computable (the stage wrote value null); `missing`: no rows at all. */
export type CellStatus = 'value' | 'x' | 'missing';

export interface Cell {
  readonly table: TableSpec['id'];
  readonly method: string;
  /** An extra row of the method under another protocol (`prompts=own`); null for the method's own row. */
  readonly variant: string | null;
  readonly taxonomy: string;
  readonly dataset: string;
  readonly status: CellStatus;
  /** Accuracy in % per seed (status `value` only). */
  readonly values: readonly number[];
  readonly seeds: readonly (number | null)[];
  /** The epoch each value comes from (empty for untrained methods). */
  readonly epochs: readonly number[];
  readonly mean: number | null;
  /** Sample standard deviation (n - 1); null with fewer than two seeds. */
  readonly std: number | null;
  /** 1 = best, 2 = second best in its column (by mean rounded to the printed precision). */
  readonly rank: 1 | 2 | null;
  readonly paper: PaperValue | null;
  /** mean - paper, when both are numbers. */
  readonly diff: number | null;
}

export interface CellOptions {
  readonly mode: EpochMode;
  /** Metric rows to tabulate (default `accuracy`). */
  readonly metric?: string;
  /** Only rows carrying these tags (selects a variant such as `loss: hard`). */
  readonly tags?: Readonly<Record<string, string>>;
  readonly paper?: PaperResults;
}

/** Printed precision: the paper prints two decimals; ranks use the same rounding so ties look tied. */
export const DECIMALS = 2;
const round = (v: number): number => Number(v.toFixed(DECIMALS));

function checkFraction(row: StudyMetric): number | null {
  if (row.value === null) return null;
  if (!(row.value >= 0 && row.value <= 1)) {
    throw new ReportDataError(
      `${row.method}/${row.taxonomy} seed ${row.seed} epoch ${row.epoch}: ${row.metric} ${row.value} is not a fraction in [0, 1]`,
      'metric rows hold accuracies and F1 scores as fractions; the tables print them in %',
    );
  }
  return row.value * 100;
}

interface Picked {
  readonly rows: readonly StudyMetric[];
  readonly epochs: readonly number[];
}

/** The rows a cell summarises, one per seed. */
function pick(s: Series, mode: EpochMode): Picked {
  if (s.flat.size > 0) return { rows: [...s.flat.values()], epochs: [] };
  if (mode === 'final') {
    const finals = finalEpochs(s);
    const rows = [...s.byEpoch].map(([seed, epochs]) => epochs.get(finals.get(seed)!)!);
    return { rows, epochs: rows.map((r) => r.epoch!) };
  }
  // Best epoch: one epoch for all seeds, the one whose seed mean is highest; ties go to the earlier epoch.
  let best: { epoch: number; mean: number; rows: StudyMetric[] } | undefined;
  for (const epoch of commonEpochs(s)) {
    const rows = [...s.byEpoch.values()].map((m) => m.get(epoch)!);
    if (rows.some((r) => r.value === null)) return { rows, epochs: rows.map(() => epoch) };
    const mean = rows.reduce((a, r) => a + r.value!, 0) / rows.length;
    if (!best || mean > best.mean) best = { epoch, mean, rows };
  }
  if (!best) {
    throw new ReportDataError(`${s.method}/${s.taxonomy}: no epoch is shared by all seeds`, 'check that every seed of the training stage finished');
  }
  return { rows: best.rows, epochs: best.rows.map(() => best.epoch) };
}

/** A row of a table: a method, or one of its variants (another evaluation protocol). */
export interface TableRow {
  readonly method: string;
  readonly variant: string | null;
}

function buildCell(table: TableSpec, column: ColumnSpec, { method, variant }: TableRow, s: Series | undefined, opts: CellOptions): Cell {
  // The paper publishes accuracy only, and for its own protocol (not for a variant row).
  const published = (opts.metric ?? 'accuracy') === 'accuracy' && variant === null;
  const paper = published ? (opts.paper?.get(table.id)?.rows.get(method)?.get(column.paperKey) ?? null) : null;
  const base = { table: table.id, method, variant, taxonomy: column.taxonomy, dataset: column.dataset, rank: null, paper };
  const empty = { values: [], seeds: [], epochs: [], mean: null, std: null, diff: null };
  if (!s) return { ...base, ...empty, status: 'missing' };
  if (s.dataset !== column.dataset) {
    throw new ReportDataError(
      `${method}/${column.taxonomy}: rows name dataset ${s.dataset}, the table column expects ${column.dataset}`,
      'fix the taxonomy or dataset id in the stage that wrote these rows',
    );
  }
  const { rows, epochs } = pick(s, opts.mode);
  const seeds = rows.map((r) => r.seed);
  const values = rows.map(checkFraction);
  // One seed not computable makes the cell not computable: a mean over the others would hide it.
  if (values.some((v) => v === null)) return { ...base, ...empty, seeds, epochs, status: 'x' };
  const numbers = values as number[];
  const { mean, std } = meanAndStd(numbers);
  const diff = typeof paper === 'number' ? mean - paper : null;
  return { ...base, status: 'value', values: numbers, seeds, epochs, mean, std, diff };
}

function rankColumn(cells: Cell[]): Cell[] {
  const distinct = [...new Set(cells.filter((c) => c.mean !== null).map((c) => round(c.mean!)))].sort((a, b) => b - a);
  return cells.map((c) => {
    if (c.mean === null) return c;
    const position = distinct.indexOf(round(c.mean));
    return { ...c, rank: position === 0 ? 1 : position === 1 ? 2 : null };
  });
}

/**
 * Every cell of Tables I and II in table, row, column order. Rows: METHODS, each followed by its variants
 * found in the rows (e.g. a contrastive head also evaluated with `prompts=own`), labelled as such.
 */
export function buildCells(rows: Iterable<StudyMetric>, opts: CellOptions): Cell[] {
  const index = indexSeries(rows, opts.metric ?? 'accuracy', opts.tags);
  const tableRows: TableRow[] = METHODS.flatMap((method) => [{ method, variant: null }, ...variantsOf(index, method).map((variant) => ({ method, variant }))]);
  const out: Cell[] = [];
  for (const table of TABLES) {
    const byColumn = table.columns.map((column) =>
      rankColumn(tableRows.map((r) => buildCell(table, column, r, getSeries(index, r.method, column.taxonomy, r.variant), opts))),
    );
    for (let r = 0; r < tableRows.length; r++) for (const column of byColumn) out.push(column[r]);
  }
  return out;
}

/** Metric rows that no table cell uses (unknown method or taxonomy): listed so nothing vanishes silently. */
export function unplacedRows(rows: Iterable<StudyMetric>, metric = 'accuracy'): string[] {
  const taxonomies = new Set(TABLES.flatMap((t) => t.columns.map((c) => c.taxonomy)));
  const seen = new Set<string>();
  for (const r of rows) {
    if (r.metric !== metric) continue;
    if (!(METHODS as readonly string[]).includes(r.method) || !taxonomies.has(r.taxonomy)) seen.add(`${r.method}/${r.taxonomy}`);
  }
  return [...seen].sort();
}
