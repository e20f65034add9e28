// `pipe params diff A B` and `pipe metrics diff A B`: the values that differ between two runs, with the
// numeric change. Metrics are compared per column label at the final step, as `pipe exp show` shows them.
import type { RunRow, Store } from '../store/index.js';
import { buildExpTable, flattenParams, type StepChoice } from './compare.js';
import type { DiffEntry } from './format.js';

type Scalar = string | number | boolean | null | undefined;

function entries(a: Readonly<Record<string, Scalar>>, b: Readonly<Record<string, Scalar>>, all: boolean): DiffEntry[] {
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort((x, y) => x.localeCompare(y, undefined, { numeric: true }));
  const out: DiffEntry[] = [];
  for (const name of names) {
    const [o, n] = [a[name], b[name]];
    if (!all && JSON.stringify(o ?? null) === JSON.stringify(n ?? null)) continue;
    out.push({ name, old: o ?? null, new: n ?? null, delta: typeof o === 'number' && typeof n === 'number' ? n - o : null });
  }
  return out;
}

export function paramsDiff(a: RunRow, b: RunRow, all = false): DiffEntry[] {
  return entries(flattenParams(a.params), flattenParams(b.params), all);
}

export function metricsDiff(store: Store, a: RunRow, b: RunRow, o: { all?: boolean; metrics?: string; step?: StepChoice } = {}): DiffEntry[] {
  const t = buildExpTable(store, { runs: [a, b], ...(o.metrics ? { metrics: o.metrics } : {}), ...(o.step !== undefined ? { step: o.step } : {}) });
  const row = (id: number) => t.rows.find((r) => r.run === id)?.metrics ?? {};
  return entries(row(a.id), row(b.id), o.all ?? false);
}
