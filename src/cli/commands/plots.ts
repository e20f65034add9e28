// `pipe plots [RUN...]`: each metric series (a column with steps) of one or several runs overlaid, one SVG
// per metric, drawn by Vega-Lite.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { lineSpec, metricTitle, renderSvg } from '../../results/charts.js';
import { resolveRun } from '../../results/compare.js';
import { fileNameOf, runSeries } from '../../results/series.js';
import { EXIT_OK, WORKSPACE_OPTION, guard, parse, workspaceOf } from '../common.js';
import { withStore } from '../results.js';

const USAGE = `usage: pipe plots [RUN...] [--out DIR] [--metrics GLOB] [--workspace DIR]

Writes one SVG per metric that has steps (name{tags}.svg), the runs overlaid in colours, into --out
(default plots/). RUN: a run number, latest or latest~N (default latest).`;

const OPTIONS = {
  ...WORKSPACE_OPTION,
  out: { type: 'string', short: 'o' },
  metrics: { type: 'string', short: 'm' },
} as const;

export async function run(argv: string[]): Promise<number> {
  return guard(async () => {
    const { values, positionals } = parse(argv, OPTIONS, USAGE);
    const out = resolve(values.out ?? 'plots');
    return withStore('plots', workspaceOf(values), async (store) => {
      const runs = (positionals.length ? positionals : ['latest']).map((r) => resolveRun(store, r));
      const series = runSeries(store, runs, values.metrics);
      if (!series.size) {
        process.stderr.write(`no metric with two or more steps in run${runs.length > 1 ? 's' : ''} ${runs.map((r) => r.id).join(', ')}: nothing to plot\n`);
        return EXIT_OK;
      }
      mkdirSync(out, { recursive: true });
      for (const [label, points] of series) {
        const file = join(out, `${fileNameOf(label)}.svg`);
        writeFileSync(file, await renderSvg(lineSpec(metricTitle(label), points, { y: label.split('{')[0] })));
        process.stdout.write(`${file}\n`);
      }
      return EXIT_OK;
    });
  });
}
