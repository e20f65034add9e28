// `pipe tables RUN`: Tables I and II of a recorded run, rendered from the results store (the same files
// the `report/tables` stage writes), whatever that run ran and what it restored from cache.
import { join } from 'node:path';
import { UsageError } from '../../engine/errors.js';
import { renderCsv, renderJson } from '../../report/export.js';
import { runReportInput, RunNotFoundError } from '../../report/from-store.js';
import { renderTablesMarkdown } from '../../report/markdown.js';
import { buildDocument, writeReport } from '../../report/report.js';
import { ReportDataError } from '../../report/series.js';
import { EXIT_OK, WORKSPACE_OPTION, failed, guard, parse, withRecordedRun, workspaceOf } from '../common.js';

const USAGE = `usage: pipe tables RUN|latest [--format md|csv|json] [--out DIR] [--metric NAME] [--tag key=value]... [--workspace DIR]

Prints the tables of run RUN (\`pipe runs\` lists them) to stdout in --format (default md). --out DIR also
writes tables.md, cells.csv, cells.json, figures/*.svg and report.md into DIR. --tag keeps only rows with
that tag (e.g. --tag loss=hard when a run holds two variants of a method). --metric: accuracy (the
paper's, default), per_class_accuracy, macro_f1, top3_accuracy, top5_accuracy or hier_accuracy.`;

const OPTIONS = {
  ...WORKSPACE_OPTION,
  format: { type: 'string', short: 'f' },
  out: { type: 'string', short: 'o' },
  tag: { type: 'string', multiple: true },
  metric: { type: 'string', short: 'm' },
} as const;

const FORMATS = ['md', 'csv', 'json'] as const;

function parseTags(items: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    items.map((t) => {
      const eq = t.indexOf('=');
      if (eq <= 0) throw new UsageError(`--tag expects key=value, got "${t}"`, USAGE);
      return [t.slice(0, eq), t.slice(eq + 1)];
    }),
  );
}

export async function run(argv: string[]): Promise<number> {
  return guard(async () => {
    const { values, positionals } = parse(argv, OPTIONS, USAGE);
    if (positionals.length !== 1) throw new UsageError(positionals.length ? 'expected one run id' : 'missing the run id', USAGE);
    const format = (values.format ?? 'md') as (typeof FORMATS)[number];
    if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got "${values.format}"`, USAGE);
    const tags = parseTags(values.tag ?? []);
    const workspace = workspaceOf(values);
    return withRecordedRun(workspace, positionals[0], 'RUN', USAGE, async (store, runId) => {
      try {
        const input = { ...runReportInput(store, workspace, runId, tags), ...(values.metric ? { metric: values.metric } : {}) };
        const doc = values.out
          ? await writeReport(input, {
              tables: join(values.out, 'tables.md'),
              csv: join(values.out, 'cells.csv'),
              json: join(values.out, 'cells.json'),
              figures: join(values.out, 'figures'),
              report: join(values.out, 'report.md'),
            })
          : buildDocument(input);
        process.stdout.write(format === 'md' ? renderTablesMarkdown(doc) : format === 'csv' ? renderCsv(doc) : renderJson(doc));
        if (values.out) process.stderr.write(`wrote tables.md, cells.csv, cells.json, figures/, report.md to ${values.out}\n`);
        return EXIT_OK;
      } catch (e) {
        if (e instanceof RunNotFoundError) throw new UsageError(e.message);
        if (e instanceof ReportDataError) return failed('tables', e);
        throw e;
      }
    });
  });
}
