// Per-step series of runs from the results store: every metric column (name and tags) that has at least
// two steps in one of the runs, as points per run, for `pipe plots` and the page's curves.
import type { RunRow, Store } from '../store/index.js';
import type { TagValue } from '../stage-api.js';
import { globMatcher, metricLabel, NUMERIC } from './compare.js';
import type { SeriesPoint } from './charts.js';

export function runSeries(store: Store, runs: readonly RunRow[], glob?: string): Map<string, SeriesPoint[]> {
  const wanted = globMatcher(glob);
  const links = store.resultKeys(runs.map((r) => r.id));
  const runsOfKey = new Map<string, number[]>();
  for (const l of links) runsOfKey.set(l.key, [...(runsOfKey.get(l.key) ?? []), l.runId]);
  const labels = new Map<string, string | null>();
  const out = new Map<string, SeriesPoint[]>();
  for (const m of store.metricPoints([...runsOfKey.keys()])) {
    const column = `${m.name}\u0000${m.tags}`;
    let label = labels.get(column);
    if (label === undefined) {
      label = metricLabel(m.name, JSON.parse(m.tags) as Record<string, TagValue>);
      labels.set(column, (label = wanted(label) ? label : null));
    }
    if (label === null) continue;
    const points = out.get(label) ?? [];
    for (const run of runsOfKey.get(m.key)!) points.push({ series: `run ${run}`, step: m.step, value: m.value! });
    out.set(label, points);
  }
  for (const [label, points] of out) {
    if (!hasCurve(points)) out.delete(label);
    else points.sort((a, b) => a.series.localeCompare(b.series, undefined, { numeric: true }) || a.step - b.step);
  }
  return new Map(seriesOrder([...out.keys()]).map((l) => [l, out.get(l)!]));
}

/** Some run has two or more steps: a value per run at one step each is no curve. */
function hasCurve(points: readonly SeriesPoint[]): boolean {
  const steps = new Map<string, Set<number>>();
  for (const p of points) steps.set(p.series, (steps.get(p.series) ?? new Set()).add(p.step));
  return [...steps.values()].some((s) => s.size >= 2);
}

/**
 * Charts in an order that shows many metrics early: fewest tags first, then the first column of every
 * metric name before the second of any (a study has hundreds of `accuracy{...}` series; a page shows 24).
 */
function seriesOrder(labels: readonly string[]): string[] {
  const nameOf = (l: string): string => l.split('{')[0];
  const tagCount = (l: string): number => (l.includes('{') ? l.split(',').length : 0);
  const sorted = [...labels].sort((a, b) => tagCount(a) - tagCount(b) || NUMERIC.compare(a, b));
  const rank = new Map<string, number>();
  const seen = new Map<string, number>();
  for (const l of sorted) {
    const n = seen.get(nameOf(l)) ?? 0;
    rank.set(l, n);
    seen.set(nameOf(l), n + 1);
  }
  return sorted.sort((a, b) => tagCount(a) - tagCount(b) || rank.get(a)! - rank.get(b)! || NUMERIC.compare(a, b));
}

/** A file name for a metric label: letters, digits, `.`, `-`, `_` and `=` kept, the rest as `_`. */
export function fileNameOf(label: string): string {
  return label.replace(/[^A-Za-z0-9._=-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 120) || 'metric';
}
