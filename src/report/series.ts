// Metric rows grouped into per-(method, taxonomy) series: trained methods by seed and epoch, untrained
// ones (zero-shot, baselines) as plain per-seed rows. Tables, curves and confusion matrices read this.
import type { StudyMetric } from '../formats.js';

export class ReportDataError extends Error {
  override readonly name = 'ReportDataError';
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export interface Series {
  readonly method: string;
  /** An extra, labelled row of the method (its rows' `variant` tag, e.g. `prompts=own`); null for the method's own rows. */
  readonly variant: string | null;
  readonly taxonomy: string;
  readonly dataset: string;
  /** seed -> epoch -> row, for rows with an epoch (seed null is kept as its own key). */
  readonly byEpoch: Map<number | null, Map<number, StudyMetric>>;
  /** Rows without an epoch, one per seed. */
  readonly flat: Map<number | null, StudyMetric>;
}

export type SeriesIndex = Map<string, Series>;

const key = (method: string, taxonomy: string, variant: string | null = null): string => `${method}\u0000${taxonomy}\u0000${variant ?? ''}`;

/** The `variant` tag of a row: another evaluation protocol of the same method, shown as its own row. */
export const variantOf = (row: StudyMetric): string | null => row.tags?.variant ?? null;

function describe(row: StudyMetric): string {
  const tags = row.tags ? ` tags ${JSON.stringify(row.tags)}` : '';
  return `${row.method}/${row.taxonomy} seed ${row.seed} epoch ${row.epoch}${tags}`;
}

function sameValue(a: StudyMetric, b: StudyMetric): boolean {
  return a.value === b.value && JSON.stringify(a.detail ?? null) === JSON.stringify(b.detail ?? null);
}

/** Stores `row` at `k` unless a computable row is there; returns the row that was there. */
function keep<K>(map: Map<K, StudyMetric>, k: K, row: StudyMetric): StudyMetric | undefined {
  const previous = map.get(k);
  if (!previous || (previous.value === null && row.value !== null)) map.set(k, row);
  return previous;
}

/** Whether every tag in `wanted` has that value on the row (rows without the tag do not match). */
export function matchesTags(row: StudyMetric, wanted: Readonly<Record<string, string>>): boolean {
  return Object.entries(wanted).every(([k, v]) => row.tags?.[k] === v);
}

/**
 * Groups the rows of one metric. The same (method, taxonomy, seed, epoch) twice is accepted when the
 * values agree (the same metrics file listed twice, a cached instance restored in a later run), and a
 * not-computable row gives way to a computable one: a method with one head per taxonomy (CE on 2, 6 and 25
 * classes) evaluates every head on every set, and only the head whose classes fit fills the cell. Two
 * different numbers are an error: two variants of a method (e.g. soft and hard contrastive loss) must be
 * told apart by a tag filter, never averaged together silently.
 */
export function indexSeries(rows: Iterable<StudyMetric>, metric: string, tags: Readonly<Record<string, string>> = {}): SeriesIndex {
  const index: SeriesIndex = new Map();
  for (const row of rows) {
    if (row.metric !== metric || !matchesTags(row, tags)) continue;
    const k = key(row.method, row.taxonomy, variantOf(row));
    let s = index.get(k);
    if (!s) {
      s = { method: row.method, variant: variantOf(row), taxonomy: row.taxonomy, dataset: row.dataset, byEpoch: new Map(), flat: new Map() };
      index.set(k, s);
    }
    if (s.dataset !== row.dataset) {
      throw new ReportDataError(
        `metric rows of ${row.method}/${row.taxonomy} name two datasets: ${s.dataset} and ${row.dataset}`,
        'a taxonomy id belongs to one dataset; fix the stage that wrote the rows',
      );
    }
    let previous: StudyMetric | undefined;
    if (row.epoch === null) {
      previous = keep(s.flat, row.seed, row);
    } else {
      let epochs = s.byEpoch.get(row.seed);
      if (!epochs) s.byEpoch.set(row.seed, (epochs = new Map()));
      previous = keep(epochs, row.epoch, row);
    }
    if (previous && row.value !== null && previous.value !== null && !sameValue(previous, row)) {
      throw new ReportDataError(
        `two different ${metric} values for ${describe(row)} (other: ${describe(previous)})`,
        'select one variant with the tables stage param `tags` (e.g. `tags: { loss: soft }`), or list each metrics file once',
      );
    }
    if (s.flat.size > 0 && s.byEpoch.size > 0) {
      throw new ReportDataError(
        `${row.method}/${row.taxonomy} has rows with and without an epoch`,
        'a method is either trained per epoch or not; check which stages write this method id',
      );
    }
  }
  // Heads of one method stop at different epochs: a seed's X rows from a head that cannot express the
  // taxonomy must not outlast the epochs of the head that can (its final epoch would read as 'X').
  for (const s of index.values()) {
    for (const epochs of s.byEpoch.values()) {
      if ([...epochs.values()].some((r) => r.value !== null)) for (const [e, r] of epochs) if (r.value === null) epochs.delete(e);
    }
  }
  return index;
}

export function getSeries(index: SeriesIndex, method: string, taxonomy: string, variant: string | null = null): Series | undefined {
  return index.get(key(method, taxonomy, variant));
}

/** The variants of `method` present in the index, sorted (each becomes an extra row below the method's). */
export function variantsOf(index: SeriesIndex, method: string): string[] {
  return [...new Set([...index.values()].filter((s) => s.method === method && s.variant !== null).map((s) => s.variant!))].sort();
}

/** The last epoch each seed reached (training may stop early, at a different epoch per seed). */
export function finalEpochs(s: Series): Map<number | null, number> {
  const out = new Map<number | null, number>();
  for (const [seed, epochs] of s.byEpoch) out.set(seed, Math.max(...epochs.keys()));
  return out;
}

/** Epochs every seed reached, ascending: the ones on which seeds can be compared. */
export function commonEpochs(s: Series): number[] {
  const limit = Math.min(...finalEpochs(s).values());
  const all = new Set<number>();
  for (const epochs of s.byEpoch.values()) for (const e of epochs.keys()) if (e <= limit) all.add(e);
  return [...all].filter((e) => [...s.byEpoch.values()].every((m) => m.has(e))).sort((a, b) => a - b);
}

/** Mean and sample standard deviation (n - 1) of the seeds' values; std null with fewer than two. */
export function meanAndStd(values: readonly number[]): { mean: number; std: number | null } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (values.length < 2) return { mean, std: null };
  const v = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1);
  return { mean, std: Math.sqrt(v) };
}
