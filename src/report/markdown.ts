// Markdown renderings of Tables I and II in the paper's row and column layout, and the companion tables
// with the paper's published values and our difference to them.
import { METHODS } from '../formats.js';
import { DECIMALS, type Cell, type EpochMode } from './cells.js';
import { FIRST_ABLATION, labelOf, METHOD_LABELS, PAPER_ONLY_LABELS, TABLE_METRICS, TABLES, type TableSpec } from './layout.js';
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
  final:
    "final epoch of each seed (as in the paper's tables): the weights of the last epoch trained, as Keras leaves " +
    'them without restore_best_weights (the `head-final` output), not the early-stopping best (`head-best`)',
  best:
    'best epoch per target dataset: the one epoch with the highest mean over seeds, shown as (eN); chosen on the ' +
    'test results, so an upper bound, and not the early-stopping `head-best` (lowest validation loss)',
};

/** How each prompt protocol scores a column's classes (the `prompts` tag; src/eval/prompts.ts). */
export const PROMPT_PROTOCOLS: Readonly<Record<string, string>> = {
  paper:
    "the paper's inference (section III-A): the sentiment caption of every class of the training taxonomy and its " +
    'synonym captions; the most similar prompt decides and a synonym counts as its class; WEBEmo 2 and 6 cat take ' +
    "the 25-category prediction up the hierarchy; the other datasets' columns use their own classes' prompts",
  own: "each column taxonomy's own sentiment captions, one per class",
  own_synonyms: "each column taxonomy's own sentiment and synonym captions",
  mapped: "the training taxonomy's sentiment captions (no synonyms), mapped up the hierarchy",
};

/** The footnote naming the prompt protocol of each prompt-scored row (contrastive heads, zero-shot). */
export function protocolNote(prompts: Readonly<Record<string, readonly string[]>>): string {
  const byProtocol = new Map<string, string[]>();
  // In the tables' row order, whatever order the metric files listed the methods in.
  const order = (m: string): number => ((METHODS as readonly string[]).includes(m) ? METHODS.indexOf(m as (typeof METHODS)[number]) : METHODS.length);
  for (const [method, sources] of Object.entries(prompts).sort(([a], [b]) => order(a) - order(b))) {
    const key = sources.join(' + ');
    byProtocol.set(key, [...(byProtocol.get(key) ?? []), labelOf(method)]);
  }
  if (byProtocol.size === 0) return '';
  const parts = [...byProtocol].map(([key, methods]) => `${methods.join(', ')}: prompts=${key} (${key.split(' + ').map((k) => PROMPT_PROTOCOLS[k] ?? k).join('; ')})`);
  return `Prompts: ${parts.join('. ')}. A row labelled (prompts=…) is the same heads under another protocol, asked for with extra_eval_prompts.`;
}

function seedNote(cells: readonly Cell[]): string {
  const counts = [...new Set(cells.filter((c) => c.status === 'value').map((c) => c.values.length))].sort((a, b) => a - b);
  return counts.length ? `${counts.join(' or ')} seed${counts.length === 1 && counts[0] === 1 ? '' : 's'}` : 'no seeds';
}

/** One of our tables (rows = METHODS) for one epoch rendering. */
export function renderTable(table: TableSpec, cells: readonly Cell[], mode: EpochMode, metric = 'accuracy', prompts: Readonly<Record<string, readonly string[]>> = {}): string {
  const mine = cells.filter((c) => c.table === table.id);
  const lines = [`### ${table.title} (${mode} epoch)`, '', ...header(table)];
  const rowIds = [...new Map(mine.map((c) => [`${c.method}\u0000${c.variant ?? ''}`, c])).values()];
  for (const first of rowIds) {
    if (first.method === FIRST_ABLATION && first.variant === null) lines.push(divider(table));
    const byTaxonomy = new Map(mine.filter((c) => c.method === first.method && c.variant === first.variant).map((c) => [c.taxonomy, c]));
    lines.push(row([labelOf(first.method, first.variant), ...table.columns.map((col) => formatCell(byTaxonomy.get(col.taxonomy)!, mode))]));
  }
  lines.push(
    '',
    `${TABLE_METRICS[metric] ?? metric} (%), mean ± sample std over ${seedNote(mine)}, ${MODE_TEXT[mode]}. ` +
      `**Bold**: best, \`*\`: second best in the column. X: not computable (the head's taxonomy cannot ` +
      `express the column's classes). ${MISSING}: no results in this run. ${protocolNote(prompts)}`.trimEnd(),
  );
  return lines.join('\n');
}

const paperText = (v: PaperValue | null): string => (v === null ? '' : v === '-' ? MISSING : typeof v === 'number' ? fmt(v) : v);

/** The paper's rows (including other publications) with our difference: `80.02 (−1.23)` = paper (ours − paper). */
export function renderComparison(table: TableSpec, cells: readonly Cell[], paper: PaperResults, mode: EpochMode): string {
  const published = paper.get(table.id)!;
  const mine = new Map(cells.filter((c) => c.table === table.id && c.variant === null).map((c) => [`${c.method}/${c.taxonomy}`, c]));
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
  /** The `prompts` protocols of each prompt-scored method's own rows (named in the footnote). */
  readonly prompts: Readonly<Record<string, readonly string[]>>;
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
    for (const table of TABLES) parts.push(renderTable(table, doc.cells[mode], mode, doc.metric, doc.prompts), '');
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
