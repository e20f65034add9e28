// Metric definitions on hand-computed cases.
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/eval/metrics.js';

describe('evaluate', () => {
  // 3 classes; truth and argmax predictions:
  //   t: 0 0 0 1 1 2      p: 0 0 1 1 2 2
  const scores = Float32Array.from([
    0.9, 0.05, 0.05,
    0.6, 0.3, 0.1,
    0.2, 0.7, 0.1, // true 0 ranked 2nd
    0.1, 0.8, 0.1,
    0.1, 0.3, 0.6, // true 1 ranked 2nd
    0.0, 0.1, 0.9,
  ]);
  const truth = Int32Array.from([0, 0, 0, 1, 1, 2]);

  it('accuracy, per-class recall, macro-F1, confusion, top-k', () => {
    const ev = evaluate(scores, 3, truth, [2]);
    expect(ev.accuracy).toBeCloseTo(4 / 6, 12);
    expect(ev.perClass).toEqual([2 / 3, 1 / 2, 1]);
    expect(ev.balancedAccuracy).toBeCloseTo((2 / 3 + 1 / 2 + 1) / 3, 12);
    // F1: class 0: tp 2, support 3, predicted 2 -> 4/5; class 1: tp 1, support 2, predicted 2 -> 1/2; class 2: tp 1, support 1, predicted 2 -> 2/3.
    expect(ev.macroF1).toBeCloseTo((4 / 5 + 1 / 2 + 2 / 3) / 3, 12);
    expect(ev.confusion).toEqual([[2, 1, 0], [0, 1, 1], [0, 0, 1]]);
    expect(ev.topK[2]).toBe(1);
    expect(ev.hierAccuracy).toBeNull();
  });

  it('hierarchy-aware accuracy credits a prediction with the true class parent', () => {
    // classes 0 and 1 share parent 0; class 2 has parent 1: the 0->1 mistake is credited, 1->2 is not.
    expect(evaluate(scores, 3, truth, [], Int32Array.from([0, 0, 1])).hierAccuracy).toBeCloseTo(5 / 6, 12);
  });

  it('a class absent from the truth has no recall and counts in macro-F1 only if predicted', () => {
    const ev = evaluate(Float32Array.from([1, 0, 0, 0, 1, 0]), 3, Int32Array.from([0, 0]));
    expect(ev.perClass).toEqual([1 / 2, null, null]);
    expect(ev.macroF1).toBeCloseTo((2 / 3 + 0) / 2, 12);
    expect(ev.topK).toEqual({});
  });

  it('ties go to the lower class index, in argmax and in top-k', () => {
    const ev = evaluate(Float32Array.from([0.5, 0.5, 0]), 3, Int32Array.from([1]), [1, 2]);
    expect(ev.accuracy).toBe(0);
    expect(ev.topK[2]).toBe(1);
  });
});
