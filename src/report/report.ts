// Renders everything from one set of metric rows: tables (markdown, CSV, JSON), SVG figures (Vega-Lite) and a
// markdown report that shows the tables and links the figures. Used by the `report/tables` stage and by
// `pipe tables RUN`, so both produce the same files.
import type { StudyMetric } from '../formats.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { buildCells, unplacedRows } from './cells.js';
import { renderCsv, renderJson } from './export.js';
import { buildFigures, figureSvg, type Figure } from './figures.js';
import { renderTablesMarkdown, type TablesDocument } from './markdown.js';
import { TABLE_METRICS } from './layout.js';
import { loadPaperResults, type PaperResults } from './paper.js';
import { ReportDataError } from './series.js';
import { codeVersion } from '../engine/code-version.js';
import { STATISTICS, tagChoices, type Provenance } from './provenance.js';

export interface ReportInput {
  readonly rows: readonly StudyMetric[];
  /** Only rows with these tags (one variant of a method), e.g. `{ loss: 'soft' }`. */
  readonly tags?: Readonly<Record<string, string>>;
  /** The metric to tabulate (default `accuracy`, the paper's); see TABLE_METRICS. */
  readonly metric?: string;
  readonly paper?: PaperResults;
  /**
   * Provenance facts the caller knows (run id, pipeline and model hashes, params); `code_version`
   * defaults to this process's.
   */
  readonly provenance: Pick<Provenance, 'run' | 'rendered_by' | 'pipeline' | 'params' | 'model'> &
    Partial<Pick<Provenance, 'code_version'>> & { readonly sources: string };
  readonly date?: Date;
  /** Shown under the title of the tables (e.g. "generated data: these numbers say nothing about CLIP"). */
  readonly note?: string;
}

export interface ReportPaths {
  readonly tables: string;
  readonly csv: string;
  readonly json: string;
  readonly figures: string;
  readonly report: string;
}

export function buildDocument(input: ReportInput): TablesDocument {
  const paper = input.paper ?? loadPaperResults();
  const tags = input.tags ?? {};
  const { sources, ...known } = input.provenance;
  // Choices of the methods, not the baselines' bookkeeping (which class is the majority, ...).
  const metric = input.metric ?? 'accuracy';
  if (!(metric in TABLE_METRICS)) throw new ReportDataError(`cannot tabulate metric "${metric}"`, `use one of ${Object.keys(TABLE_METRICS).join(', ')}`);
  const metricRows = input.rows.filter((r) => r.metric === metric && r.method !== 'random' && r.method !== 'most_represented_class');
  const provenance: Provenance = {
    ...known,
    date: (input.date ?? new Date()).toISOString(),
    taxonomy_choices: tagChoices(metricRows),
    code_version: known.code_version ?? codeVersion(),
    metric_rows: `${input.rows.length} rows from ${sources}${Object.keys(tags).length ? `, tags ${JSON.stringify(tags)}` : ''}`,
    statistics: STATISTICS,
  };
  return {
    cells: {
      final: buildCells(input.rows, { mode: 'final', metric, tags, paper }),
      best: buildCells(input.rows, { mode: 'best', metric, tags, paper }),
    },
    paper,
    provenance,
    unplaced: unplacedRows(input.rows, metric),
    prompts: promptProtocols(metricRows),
    metric,
    ...(input.note ? { note: input.note } : {}),
  };
}

/** The `prompts` protocols of each method's own rows (not its variant rows): what the footnote names. */
function promptProtocols(rows: readonly StudyMetric[]): Record<string, string[]> {
  const out = new Map<string, Set<string>>();
  for (const r of rows) {
    const source = r.tags?.prompts;
    if (source === undefined || r.tags?.variant !== undefined) continue;
    if (!out.has(r.method)) out.set(r.method, new Set());
    out.get(r.method)!.add(source);
  }
  return Object.fromEntries([...out].map(([m, s]) => [m, [...s].sort()]));
}

function reportMarkdown(tables: string, figures: readonly Figure[], figuresLink: string): string {
  const lines = [tables.trimEnd(), '', '## Figures', ''];
  if (figures.length === 0) lines.push('No per-epoch or confusion-matrix rows in this run: nothing to draw.');
  for (const f of figures) lines.push(`### ${f.title}`, '', `![${f.title}](${figuresLink}/${f.file})`, '');
  return lines.join('\n') + '\n';
}

/** Writes all renderings; returns the document (cells and provenance) for callers that print a summary. */
export async function writeReport(input: ReportInput, paths: ReportPaths): Promise<TablesDocument> {
  const doc = buildDocument(input);
  const tables = renderTablesMarkdown(doc);
  const figures = buildFigures(input.rows, input.tags, doc.metric);
  for (const p of [paths.tables, paths.csv, paths.json, paths.report]) mkdirSync(dirname(p), { recursive: true });
  mkdirSync(paths.figures, { recursive: true });
  writeFileSync(paths.tables, tables);
  writeFileSync(paths.csv, renderCsv(doc));
  writeFileSync(paths.json, renderJson(doc));
  for (const f of figures) writeFileSync(join(paths.figures, f.file), await figureSvg(f));
  writeFileSync(paths.report, reportMarkdown(tables, figures, relative(dirname(paths.report), paths.figures) || '.'));
  return doc;
}
