// `pipe exp show`: runs side by side (params that differ, metrics), as `dvc exp show` does; `--html FILE`
// writes the same table, the metric curves and the study's sections into one self-contained page.
import { writeFileSync } from 'node:fs';
import { UsageError } from '../../engine/errors.js';
import { buildExpTable } from '../../results/compare.js';
import { renderExpTable } from '../../results/format.js';
import { EXIT_OK, WORKSPACE_OPTION, guard, parse, workspaceOf } from '../common.js';
import { formatOf, parseStep, selectRuns, withStore } from '../results.js';

const USAGE = `usage: pipe exp show [FILE] [--runs A,B,..|--last N] [--metrics GLOB] [--params GLOB] [--drop GLOB]
                     [--keep GLOB] [--sort NAME] [--sort-order asc|desc] [--step final|best|N] [--instances]
                     [--width N] [--json|--csv|--md] [--html FILE]

One row per run (per stage instance with --instances) of FILE (default: every pipeline), the last 20 unless
--runs (ids, latest, latest~N) or --last N. Columns: the params whose values differ between the rows (or
those matching --params GLOB), then the metrics matching --metrics GLOB (default all), a metric with tags
as name{k=v,...}, those with fewer tags first. --drop GLOB leaves columns out; --keep GLOB always shows
them, first. A cell is the metric at its final step; --step best takes the best step (lowest for names
with loss/error, else highest), --step N step N. The terminal table shows the columns that fit its width
(--width N to choose, 0 for all) and says how many it left out; --json, --csv and --md have every column.
--html FILE writes a self-contained page instead. A GLOB is *, ? and commas between alternatives.`;

const OPTIONS = {
  ...WORKSPACE_OPTION,
  runs: { type: 'string' },
  last: { type: 'string', short: 'n' },
  metrics: { type: 'string', short: 'm' },
  params: { type: 'string', short: 'p' },
  drop: { type: 'string' },
  keep: { type: 'string' },
  width: { type: 'string' },
  sort: { type: 'string', short: 's' },
  'sort-order': { type: 'string' },
  step: { type: 'string' },
  instances: { type: 'boolean' },
  json: { type: 'boolean' },
  csv: { type: 'boolean' },
  md: { type: 'boolean' },
  html: { type: 'string' },
} as const;

/** --width N, else the terminal's width, else $COLUMNS, else 80 (piped output, as `dvc exp show` does); 0: no limit. */
function terminalWidth(v: string | undefined): number {
  if (v !== undefined) {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`--width expects a whole number of columns (0 for no limit), got "${v}"`, USAGE);
    return n;
  }
  if (process.stdout.isTTY) return process.stdout.columns;
  return Number(process.env.COLUMNS) || 80;
}

export async function run(argv: string[]): Promise<number> {
  return guard(async () => {
    const [sub, ...rest] = argv;
    if (sub === '--help' || sub === '-h') {
      process.stdout.write(`${USAGE}\n`);
      return EXIT_OK;
    }
    if (sub !== 'show') throw new UsageError(sub ? `unknown exp command "${sub}"` : 'missing the exp command', USAGE);
    const { values, positionals } = parse(rest, OPTIONS, USAGE);
    if (positionals.length > 1) throw new UsageError('expected at most one pipeline file', USAGE);
    const order = values['sort-order'] ?? 'asc';
    if (order !== 'asc' && order !== 'desc') throw new UsageError(`--sort-order must be asc or desc, got "${order}"`, USAGE);
    const format = formatOf(values, USAGE);
    const step = parseStep(values.step, USAGE);
    const width = terminalWidth(values.width);
    const workspace = workspaceOf(values);
    return withStore('exp show', workspace, async (store) => {
      const runs = selectRuns(store, workspace, { file: positionals[0], runs: values.runs, last: values.last }, USAGE);
      const options = {
        runs,
        step,
        ...(values.instances ? { instances: true } : {}),
        ...(values.metrics !== undefined ? { metrics: values.metrics } : {}),
        ...(values.params !== undefined ? { params: values.params } : {}),
        ...(values.drop !== undefined ? { drop: values.drop } : {}),
        ...(values.keep !== undefined ? { keep: values.keep } : {}),
        ...(values.sort !== undefined ? { sort: values.sort, descending: order === 'desc' } : {}),
      };
      if (values.html !== undefined) {
        const { experimentPage } = await import('../page.js');
        writeFileSync(values.html, await experimentPage(store, workspace, options));
        process.stderr.write(`wrote ${values.html} (${runs.length} runs)\n`);
        return EXIT_OK;
      }
      const fit = format === 'text' && width > 0 ? { width } : {};
      process.stdout.write(renderExpTable(buildExpTable(store, { ...options, ...fit }), format, format === 'text' ? width : 0));
      return EXIT_OK;
    });
  });
}
