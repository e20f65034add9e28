// Classification metrics from class scores [N, C] and true class indices. Pure functions over typed
// arrays (no dependency does confusion, macro-F1, top-k and the hierarchy score together on 50k rows).

export interface Evaluation {
  readonly n: number;
  readonly accuracy: number;
  /** Recall of each class; null for a class with no samples in the evaluated split. */
  readonly perClass: readonly (number | null)[];
  /** Mean of the non-null per-class accuracies (balanced accuracy). */
  readonly balancedAccuracy: number;
  /**
   * Mean F1 over the classes that occur in the truth or the predictions (scikit-learn's label set);
   * F1 = 0 for a class with no true positive.
   */
  readonly macroF1: number;
  /** confusion[true][predicted] counts. */
  readonly confusion: readonly (readonly number[])[];
  /** top-k accuracy for each requested k < C. */
  readonly topK: Readonly<Record<number, number>>;
  /** Share of predictions whose class has the true class's parent; null without a parent map. */
  readonly hierAccuracy: number | null;
}

/** Index of the largest score in row r (first one on ties, like numpy's argmax). */
export function argmaxRow(scores: Float32Array, c: number, r: number): number {
  let best = 0;
  let bestV = scores[r * c];
  for (let j = 1; j < c; j++) {
    const v = scores[r * c + j];
    if (v > bestV) {
      bestV = v;
      best = j;
    }
  }
  return best;
}

/**
 * @param scores [N, C] scores, larger = more likely (probabilities, cosine similarities, ...)
 * @param truth  true class index per row
 * @param parentOf class index -> parent class index in the next coarser taxonomy, for `hierAccuracy`
 */
export function evaluate(scores: Float32Array, c: number, truth: Int32Array, ks: readonly number[] = [3, 5], parentOf?: Int32Array): Evaluation {
  const n = truth.length;
  if (scores.length !== n * c) throw new Error(`evaluate: ${scores.length} scores for ${n} rows × ${c} classes`);
  const confusion = Array.from({ length: c }, () => new Array<number>(c).fill(0));
  const topHits = new Map<number, number>(ks.filter((k) => k < c).map((k) => [k, 0]));
  let correct = 0;
  let hier = 0;
  for (let r = 0; r < n; r++) {
    const t = truth[r];
    const p = argmaxRow(scores, c, r);
    confusion[t][p]++;
    if (p === t) correct++;
    if (parentOf && parentOf[p] === parentOf[t]) hier++;
    if (topHits.size > 0) {
      // Rank of the true class; ties rank by class index, as argmax does.
      const st = scores[r * c + t];
      let above = 0;
      for (let j = 0; j < c; j++) {
        const v = scores[r * c + j];
        if (v > st || (v === st && j < t)) above++;
      }
      for (const [k, hits] of topHits) if (above < k) topHits.set(k, hits + 1);
    }
  }
  const perClass: (number | null)[] = [];
  const f1s: number[] = [];
  for (let k = 0; k < c; k++) {
    const support = confusion[k].reduce((a, b) => a + b, 0);
    let predicted = 0;
    for (let t = 0; t < c; t++) predicted += confusion[t][k];
    const tp = confusion[k][k];
    perClass.push(support > 0 ? tp / support : null);
    if (support > 0 || predicted > 0) f1s.push(tp === 0 ? 0 : (2 * tp) / (support + predicted));
  }
  const present = perClass.filter((v): v is number => v !== null);
  return {
    n,
    accuracy: n > 0 ? correct / n : 0,
    perClass,
    balancedAccuracy: present.length ? present.reduce((a, b) => a + b, 0) / present.length : 0,
    macroF1: f1s.length ? f1s.reduce((a, b) => a + b, 0) / f1s.length : 0,
    confusion,
    topK: Object.fromEntries([...topHits].map(([k, hits]) => [k, n > 0 ? hits / n : 0])),
    hierAccuracy: parentOf ? (n > 0 ? hier / n : 0) : null,
  };
}
