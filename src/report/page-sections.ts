// The study's part of the experiment page (`pipe exp show --html`, `pipe ui`): for each run with CLIP-E
// rows, Tables I and II (final epoch) and the figures, from the same functions that write the report
// files (buildDocument, buildFigures), fed by the same query (runReportInput).
import type { PageSection } from '../results/page.js';
import { esc } from '../results/page.js';
import type { RunRow, Store } from '../store/index.js';
import type { Cell } from './cells.js';
import { buildFigures, figureSvg } from './figures.js';
import { runReportInput } from './from-store.js';
import { labelOf, TABLES, type TableSpec } from './layout.js';
import { formatCell } from './markdown.js';
import { buildDocument } from './report.js';

/** formatCell's markdown (bold best, `*` second) as HTML. */
function cellHtml(c: Cell): string {
  const text = formatCell(c, 'final');
  return esc(text).replace(/^\*\*(.*)\*\*$/, '<b>$1</b>');
}

function tableHtml(table: TableSpec, cells: readonly Cell[]): string {
  const mine = cells.filter((c) => c.table === table.id);
  const head = `<tr><th>Model</th>${table.columns.map((c) => `<th>${esc(c.label)}</th>`).join('')}</tr>`;
  // The rows as the markdown tables order them: methods, each followed by its variants.
  const rowIds = [...new Map(mine.map((c) => [`${c.method}\u0000${c.variant ?? ''}`, c])).values()];
  const rows = rowIds.map((first) => {
    const byTaxonomy = new Map(mine.filter((c) => c.method === first.method && c.variant === first.variant).map((c) => [c.taxonomy, c]));
    return `<tr><td>${esc(labelOf(first.method, first.variant))}</td>${table.columns.map((col) => `<td>${cellHtml(byTaxonomy.get(col.taxonomy)!)}</td>`).join('')}</tr>`;
  });
  return `<h3>${esc(table.title)} (final epoch)</h3><table>${head}${rows.join('')}</table>`;
}

/** One section per run that holds the study's rows; runs without them contribute nothing. */
export async function studySections(store: Store, workspace: string, runs: readonly RunRow[]): Promise<PageSection[]> {
  const out: PageSection[] = [];
  for (const run of runs) {
    const input = runReportInput(store, workspace, run.id);
    if (!input.rows.length) continue;
    const doc = buildDocument(input);
    const figures = buildFigures(input.rows, input.tags, doc.metric);
    const svgs = await Promise.all(figures.map(figureSvg));
    const tables = TABLES.map((t) => tableHtml(t, doc.cells.final)).join('');
    const note = '<p class="note">Accuracy (%), mean ± sample std over seeds; <b>bold</b>: best, *: second best; X: not computable; –: no results.</p>';
    out.push({
      title: `CLIP-E study, run ${run.id}: Tables I and II, per-epoch curves, confusion matrices`,
      html: `${tables}${note}<div class="charts">${svgs.map((s, i) => `<figure title="${esc(figures[i].title)}">${s}</figure>`).join('')}</div>`,
    });
  }
  return out;
}
