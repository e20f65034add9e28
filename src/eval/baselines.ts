// The paper's two reference rows: `random` (expected accuracy of a uniform guess, 1/C) and
// `most_represented_class` (always predict the majority class of the evaluated split: its share).
import type { StudyMetric } from '../formats.js';
import { evaluateSets, type PreparedSet } from './evaluate.js';

export async function baselineRows(sets: readonly PreparedSet[]): Promise<StudyMetric[]> {
  const rows: StudyMetric[] = [];
  for (const set of sets) {
    for (const { tax } of set.taxonomies) {
      const c = tax.classes.length;
      rows.push({
        method: 'random', dataset: set.spec.dataset, taxonomy: tax.id, seed: null, epoch: null,
        metric: 'accuracy', value: 1 / c, detail: { classes: c, n: set.n }, tags: { ...tax.settings, kind: 'expected' },
      });
    }
  }
  // The majority predictor goes through the ordinary evaluation, so it gets every metric a method gets.
  rows.push(...(await evaluateSets(sets, async (set, tax) => {
    const truth = set.taxonomies.find((t) => t.tax === tax)?.truth as Int32Array;
    const c = tax.classes.length;
    const counts = new Array<number>(c).fill(0);
    for (const t of truth) counts[t]++;
    const major = counts.indexOf(Math.max(...counts));
    const scores = new Float32Array(set.n * c);
    for (let r = 0; r < set.n; r++) scores[r * c + major] = 1;
    return { scores, tags: { majority_of: 'evaluated split', class: tax.classes[major].id } };
  }, { method: 'most_represented_class', seed: null, epoch: null })));
  return rows;
}
