// The experiment page of a workspace: the generic comparison (src/results) plus the study's sections
// (src/report), composed here so that the results library knows nothing about the study.
import { buildExpTable, type ExpOptions } from '../results/compare.js';
import { MAX_METRIC_COLUMNS, renderPage } from '../results/page.js';
import { runSeries } from '../results/series.js';
import { studySections } from '../report/page-sections.js';
import type { Store } from '../store/index.js';

export async function experimentPage(store: Store, workspace: string, options: ExpOptions, live = false): Promise<string> {
  const table = buildExpTable(store, { ...options, limit: MAX_METRIC_COLUMNS });
  return renderPage(
    {
      title: `pipe experiments: ${workspace}`,
      table,
      series: runSeries(store, options.runs, options.metrics),
      sections: await studySections(store, workspace, options.runs),
      live,
    },
    store.changeStamp(),
  );
}
