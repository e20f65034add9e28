// Markdown renderings of Tables I and II in the paper's row and column layout, and the companion tables
// with the paper's published values and our difference to them.
import { METHODS } from '../formats.js';
import { DECIMALS, type Cell, type EpochMode } from './cells.js';
import { FIRST_ABLATION, METHOD_LABELS, PAPER_ONLY_LABELS, TABLE_METRICS, TABLES, type TableSpec } from './layout.js';
import type { PaperResults, PaperValue } from './paper.js';
import type { Provenance } from './provenance.js';

/** Printed for a cell with no metric rows (the paper prints an en dash for "not reported"). */
export const MISSING = '–';

const fmt = (v: number): string => v.toFixed(DECIMALS);
const signed = (v: number): string => (v >= 0 ? '+' : '−') + fmt(Math.abs(v));

/** The text of one cell: `56.42 ± 0.21`, best in bold, second best with the paper's `*`. */
export function formatCell(c: Cell, mode: EpochMode): string {
  if (c.status === 'x') return 'X';
  if (c.status === 'missing' || c.mean === null) return MISSING;
  let text = c.std === null ? fmt(c.mean) : `${fmt(c.mean)} ± ${fmt(c.std)}`;
  if (mode === 'best' && c.epochs.length > 0) text += ` (e${c.epochs[0]})`;
  if (c.rank === 1) return `**${text}**`;
  if (c.rank === 2) return `${text}*`;
  return text;
}

const row = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;

function header(table: TableSpec): string[] {
  return [row(['Model', ...table.columns.map((c) => c.label)]), row(['---', ...table.columns.map(() => '---:')])];
}

const divider = (table: TableSpec): string => row(['*CLIP-E Contrastive Ablation*', ...table.columns.map(() => '')]);

const MODE_TEXT: Record<EpochMode, string> = {
  final: 'final epoch of each seed (as in the paper\'s tables)',
  best: 'best epoch per target dataset: the one epoch with the highest mean over seeds, shown as (eN)',
};

function seedNote(cells: readonly Cell[]): string {
  const counts = [...new Set(cells.filter((c) => c.status === 'value').map((c) => c.values.length))].sort((a, b) => a - b);
  return counts.length ? `${counts.join(' or ')} seed${counts.length === 1 && counts[0] === 1 ? '' : 's'}` : 'no seeds';
}

/** One of our tables (rows = METHODS) for one epoch rendering. */
export function renderTable(table: TableSpec, cells: readonly Cell[], mode: EpochMode, metric = 'accuracy'): string {
  const mine = cells.filter((c) => c.table === table.id);
  const lines = [`### ${table.title} (${mode} epoch)`, '', ...header(table)];
  for (const method of METHODS) {
    if (method === FIRST_ABLATION) lines.push(divider(table));
    const byTaxonomy = new Map(mine.filter((c) => c.method === method).map((c) => [c.taxonomy, c]));
    lines.push(row([METHOD_LABELS[method], ...table.columns.map((col) => formatCell(byTaxonomy.get(col.taxonomy)!, mode))]));
  }
  lines.push(
    '',
    `${TABLE_METRICS[metric] ?? metric} (%), mean ± sample std over ${seedNote(mine)}, ${MODE_TEXT[mode]}. ` +
      `**Bold**: best, \`*\`: second best in the column. X: not computable (the head's taxonomy cannot ` +
      `express the column's classes). ${MISSING}: no results in this run.`,
  );
  return lines.join('\n');
}

const paperText = (v: PaperValue | null): string => (v === null ? '' : v === '-' ? MISSING : typeof v === 'number' ? fmt(v) : v);

/** The paper's rows (including other publications) with our difference: `80.02 (−1.23)` = paper (ours − paper). */
export function renderComparison(table: TableSpec, cells: readonly Cell[], paper: PaperResults, mode: EpochMode): string {
  const published = paper.get(table.id)!;
  const mine = new Map(cells.filter((c) => c.table === table.id).map((c) => [`${c.method}/${c.taxonomy}`, c]));
  const lines = [`### ${table.title}: published values and our difference (${mode} epoch)`, '', ...header(table)];
  for (const method of published.rows.keys()) {
    if (method === FIRST_ABLATION) lines.push(divider(table));
    const label = METHOD_LABELS[method as keyof typeof METHOD_LABELS] ?? PAPER_ONLY_LABELS[method] ?? method;
    const texts = table.columns.map((col) => {
      const value = published.rows.get(method)!.get(col.paperKey) ?? null;
      const diff = mine.get(`${method}/${col.taxonomy}`)?.diff ?? null;
      return diff === null ? paperText(value) : `${paperText(value)} (${signed(diff)})`;
    });
    lines.push(row([label, ...texts]));
  }
  lines.push('', `Published accuracy (%) from data/paper-results.yaml; in parentheses: our ${mode}-epoch mean minus the published value.`);
  return lines.join('\n');
}

export function renderProvenance(p: Provenance): string {
  const lines = ['## Provenance', ''];
  for (const [k, v] of Object.entries(p)) {
    if (v === undefined) continue;
    lines.push(`- ${k}: ${typeof v === 'string' ? v : '`' + JSON.stringify(v) + '`'}`);
  }
  return lines.join('\n');
}

export interface TablesDocument {
  readonly cells: Readonly<Record<EpochMode, readonly Cell[]>>;
  readonly paper: PaperResults;
  readonly provenance: Provenance;
  readonly unplaced: readonly string[];
  /** The tabulated metric (`accuracy` in the paper's tables). */
  readonly metric: string;
  /** A line under the title, e.g. that the data are generated. */
  readonly note?: string;
}

/** The whole tables document: final-epoch tables, best-epoch tables, paper comparison, provenance. */
export function renderTablesMarkdown(doc: TablesDocument): string {
  const accuracy = doc.metric === 'accuracy';
  const parts = [`# CLIP-E reproduction: Tables I and II${accuracy ? '' : ` (${TABLE_METRICS[doc.metric] ?? doc.metric})`}`, ''];
  if (doc.note) parts.push(`> ${doc.note}`, '');
  for (const mode of ['final', 'best'] as const) {
    parts.push(`## ${mode === 'final' ? 'Final epoch (the paper\'s tables)' : 'Best epoch per target dataset'}`, '');
    for (const table of TABLES) parts.push(renderTable(table, doc.cells[mode], mode, doc.metric), '');
  }
  // The paper publishes accuracy only.
  if (accuracy) {
    parts.push('## Comparison with the published values', '');
    for (const table of TABLES) parts.push(renderComparison(table, doc.cells.final, doc.paper, 'final'), '');
  }
  if (doc.unplaced.length) {
    parts.push(`Metric rows that fit no table cell (unknown method or taxonomy id): ${doc.unplaced.join(', ')}.`, '');
  }
  parts.push(renderProvenance(doc.provenance), '');
  return parts.join('\n');
}
