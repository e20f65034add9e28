// Per-step series of runs from the results store: every metric column (name and tags) that has at least
// two steps in one of the runs, as points per run, for `pipe plots` and the page's curves.
import type { RunRow, Store } from '../store/index.js';
import { globMatcher, metricLabel } from './compare.js';
import type { SeriesPoint } from './charts.js';

export function runSeries(store: Store, runs: readonly RunRow[], glob?: string): Map<string, SeriesPoint[]> {
  const wanted = globMatcher(glob);
  const links = store.resultKeys(runs.map((r) => r.id));
  const runsOfKey = new Map<string, number[]>();
  for (const l of links) runsOfKey.set(l.key, [...(runsOfKey.get(l.key) ?? []), l.runId]);
  const out = new Map<string, SeriesPoint[]>();
  for (const m of store.metricsForKeys([...runsOfKey.keys()])) {
    if (m.step === null || m.value === null) continue;
    const label = metricLabel(m.name, m.tags);
    if (!wanted(label)) continue;
    const points = out.get(label) ?? [];
    for (const run of runsOfKey.get(m.stageKey)!) points.push({ series: `run ${run}`, step: m.step, value: m.value });
    out.set(label, points);
  }
  for (const [label, points] of out) {
    if (new Set(points.map((p) => p.step)).size < 2) out.delete(label);
    else points.sort((a, b) => a.series.localeCompare(b.series, undefined, { numeric: true }) || a.step - b.step);
  }
  return out;
}

/** A file name for a metric label: letters, digits, `.`, `-`, `_` and `=` kept, the rest as `_`. */
export function fileNameOf(label: string): string {
  return label.replace(/[^A-Za-z0-9._=-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 120) || 'metric';
}
