// `report/tables`: Tables I and II (final and best epoch, with the paper's values), CSV, JSON, SVG figures
// and a markdown report, from the `metrics.jsonl` files of upstream stages. The metric files are path
// params, so the tables are re-rendered exactly when a number changes. The footer names the run, pipeline
// file (with its hash) and code version from ctx.run, which is outside the key: a later run that restores
// the tables from the cache shows the run that rendered them.
import { relative } from 'node:path';
import { studyRows } from '../../src/formats.js';
import { readJsonl } from '../../src/io/jsonl.js';
import { TABLE_METRICS } from '../../src/report/layout.js';
import { PaperResultsError } from '../../src/report/paper.js';
import { writeReport } from '../../src/report/report.js';
import { ReportDataError } from '../../src/report/series.js';
import { defineStage, StageError, type Json, type MetricRow } from '../../src/stage-api.js';

export interface TablesParams {
  /** `metrics.jsonl` paths; an item may itself be a list (a matrix stage reference). */
  readonly metrics: readonly (string | readonly string[])[];
  /** Only rows with these tags, to pick one variant of a method (e.g. `{ loss: hard }`). */
  readonly tags: Readonly<Record<string, string>>;
  /** The metric in the cells (the paper's tables: accuracy). */
  readonly metric: string;
  /** The CLIP model folder or file, recorded with its hash. */
  readonly model?: string;
  /** Study params to record in the footer (seeds, data root, ...). */
  readonly study_params: { readonly [key: string]: Json };
  /** A line shown under the title (e.g. that the data are generated). */
  readonly note?: string;
}

const path = { type: 'string', format: 'path' } as const;

export default defineStage<TablesParams>({
  kind: 'report/tables',
  version: '7',
  description: "Tables I and II of the CLIP-E paper (markdown, CSV, JSON) with the paper's values, figures and a report",
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['metrics'],
    properties: {
      metrics: { type: 'array', minItems: 1, items: { anyOf: [path, { type: 'array', items: path }] } },
      tags: { type: 'object', additionalProperties: { type: 'string' }, default: {} },
      metric: { enum: Object.keys(TABLE_METRICS), default: 'accuracy', description: "the metric in the cells; the paper's tables show accuracy" },
      model: path,
      study_params: { type: 'object', default: {} },
      note: { type: 'string', description: 'a line shown under the title, e.g. that the data are generated' },
    },
  },
  outputs: {
    tables: { path: 'tables.md', description: 'Tables I and II, final and best epoch, paper comparison, provenance' },
    csv: { path: 'cells.csv', description: 'every cell, one line per cell and epoch rendering' },
    json: { path: 'cells.json', description: 'the same cells and the provenance as JSON' },
    figures: { path: 'figures', description: 'SVG accuracy curves per target dataset and confusion matrices' },
    report: { path: 'report.md', description: 'the tables and every figure, linked' },
  },
  async run(ctx) {
    const p = ctx.params;
    const files = p.metrics.flat();
    const rows = studyRows(files.flatMap((f) => readJsonl<MetricRow>(f)));
    ctx.log(`${rows.length} metric rows from ${files.length} files`);
    // The engine's content hash (a folder's too): the one in the key, and the one `pipe tables` shows.
    const model = p.model === undefined ? undefined : `${relative(ctx.workspace, p.model) || p.model} (sha256 ${(await ctx.hashFiles([p.model]))[0]})`;
    try {
      const doc = await writeReport(
        {
          rows,
          tags: p.tags,
          metric: p.metric,
          ...(p.note ? { note: p.note } : {}),
          provenance: {
            run: String(ctx.run.id),
            rendered_by: `report/tables stage ${ctx.instanceId}`,
            pipeline: `${ctx.run.pipelineFile} (sha256 ${ctx.run.pipelineHash})`,
            code_version: ctx.run.codeVersion,
            model,
            params: p.study_params,
            sources: `${files.length} metrics files`,
          },
        },
        {
          tables: ctx.output('tables'),
          csv: ctx.output('csv'),
          json: ctx.output('json'),
          figures: ctx.output('figures'),
          report: ctx.output('report'),
        },
      );
      const filled = doc.cells.final.filter((c) => c.status !== 'missing').length;
      ctx.log(`${filled} of ${doc.cells.final.length} cells filled`);
    } catch (e) {
      if (e instanceof ReportDataError) throw new StageError(e.message, e.hint);
      if (e instanceof PaperResultsError) throw new StageError(e.message, 'restore data/paper-results.yaml from git');
      throw e;
    }
  },
});
