// CSV and JSON of the same cells the markdown shows, for spreadsheets and scripts.
import { stringify } from 'csv-stringify/sync';
import type { Cell, EpochMode } from './cells.js';
import { labelOf, TABLES } from './layout.js';
import type { TablesDocument } from './markdown.js';

const CSV_COLUMNS = [
  'table', 'epoch_mode', 'metric', 'method', 'variant', 'label', 'column', 'dataset', 'taxonomy', 'status', 'n', 'mean', 'std',
  'rank', 'paper', 'diff', 'values', 'seeds', 'epochs',
] as const;

function columnLabel(c: Cell): string {
  return TABLES.find((t) => t.id === c.table)!.columns.find((col) => col.taxonomy === c.taxonomy)!.label;
}

function csvRow(c: Cell, mode: EpochMode, metric: string): (string | number | null)[] {
  const join = (xs: readonly (number | null)[]): string => xs.map((x) => (x === null ? '' : String(x))).join(';');
  return [
    c.table, mode, metric, c.method, c.variant, labelOf(c.method, c.variant), columnLabel(c), c.dataset, c.taxonomy, c.status, c.values.length,
    c.mean, c.std, c.rank, c.paper, c.diff, join(c.values), join(c.seeds), join(c.epochs),
  ];
}

/** One line per cell and epoch rendering; `status` says value / x / missing, numbers are unrounded. */
export function renderCsv(doc: TablesDocument): string {
  const rows = (['final', 'best'] as const).flatMap((mode) => doc.cells[mode].map((c) => csvRow(c, mode, doc.metric)));
  return stringify([[...CSV_COLUMNS], ...rows]);
}

export function renderJson(doc: TablesDocument): string {
  const cells = (mode: EpochMode): unknown[] =>
    doc.cells[mode].map((c) => ({ ...c, label: labelOf(c.method, c.variant), column: columnLabel(c) }));
  return JSON.stringify({ metric: doc.metric, provenance: doc.provenance, final: cells('final'), best: cells('best'), unplaced: doc.unplaced }, null, 2) + '\n';
}
