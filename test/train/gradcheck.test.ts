// Finite-difference checks of the hand-derived gradients in src/train/graphs.ts. The graphs are built in
// float64 and run on onnxruntime, so central differences (h = 1e-6) agree with the analytic gradient to
// ~1e-8 relative: any derivation error shows up as an O(1) mismatch. Every check runs a group of two
// heads (different weights, head 1 seeing the batch in reverse order) and differentiates the sum of
// their losses, so a gradient that leaked across the stacked head axis would show up too.
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { contrastiveStepGraph, crossEntropyStepGraph, GRAD_NAMES, stackedShapes, WEIGHT_NAMES, type MlpDims } from '../../src/train/graphs.js';
import { Rng } from '../../src/train/rng.js';

function randn(rng: Rng, n: number, sd = 1): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(rng.next(), 1e-12);
    out[i] = sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
  }
  return out;
}

const HEADS = 2;
const total = (losses: Float64Array): number => losses.reduce((a, b) => a + b, 0);

/** A [B, c] batch for head 0 and the same rows reversed for head 1, stacked as [2, B, c]. */
function twoHeads(v: Float64Array, [b, c]: number[]): Float64Array {
  const out = new Float64Array(2 * v.length);
  out.set(v);
  for (let r = 0; r < b; r++) out.set(v.subarray((b - 1 - r) * c, (b - r) * c), v.length + r * c);
  return out;
}

async function check(bytes: Uint8Array, dims: MlpDims, feeds: Record<string, Float64Array>, feedDims: Record<string, number[]>, seed: number): Promise<number> {
  const session = await ort.InferenceSession.create(bytes);
  const rng = new Rng(seed, 'weights');
  const shapes = stackedShapes(dims, HEADS) as number[][];
  const weights = shapes.map((s) => randn(rng, s.reduce((a, b) => a * b, 1), 0.7));
  const run = async (): Promise<ort.InferenceSession.ReturnType> => {
    const f: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) f[k] = feedDims[k].length === 0 ? new ort.Tensor('float64', v, []) : new ort.Tensor('float64', twoHeads(v, feedDims[k]), [HEADS, ...feedDims[k]]);
    WEIGHT_NAMES.forEach((n, k) => (f[n] = new ort.Tensor('float64', weights[k], shapes[k])));
    return session.run(f);
  };
  const base = await run();
  let worst = 0;
  const h = 1e-6;
  for (let k = 0; k < weights.length; k++) {
    const analytic = base[GRAD_NAMES[k]].data as Float64Array;
    expect(analytic.length).toBe(weights[k].length);
    for (let i = 0; i < weights[k].length; i++) {
      const w0 = weights[k][i];
      weights[k][i] = w0 + h;
      const up = total((await run()).loss.data as Float64Array);
      weights[k][i] = w0 - h;
      const down = total((await run()).loss.data as Float64Array);
      weights[k][i] = w0;
      const numeric = (up - down) / (2 * h);
      const err = Math.abs(numeric - analytic[i]) / Math.max(1e-3, Math.abs(numeric) + Math.abs(analytic[i]));
      worst = Math.max(worst, err);
    }
  }
  await session.release();
  return worst;
}

const B = 5;
const dims: MlpDims = { inputDim: 6, hidden: 7, outputDim: 4 };

function oneHot(labels: number[], c: number): Float64Array {
  const y = new Float64Array(labels.length * c);
  labels.forEach((l, i) => (y[i * c + l] = 1));
  return y;
}

function unitRows(m: Float64Array, cols: number): Float64Array {
  for (let r = 0; r < m.length / cols; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += m[r * cols + c] ** 2;
    for (let c = 0; c < cols; c++) m[r * cols + c] /= Math.sqrt(s);
  }
  return m;
}

describe('analytic gradients match finite differences (float64 graphs)', () => {
  const rng = new Rng(7, 'data');
  const x = randn(rng, B * dims.inputDim);

  it('CE softmax head, mean and sum reduction', async () => {
    const bytes = crossEntropyStepGraph(dims, 'softmax', true, 'float64');
    for (const scale of [1, 1 / B]) {
      const err = await check(bytes, dims, { x, y: oneHot([0, 3, 1, 3, 2], 4), scale: Float64Array.of(scale) }, { x: [B, 6], y: [B, 4], scale: [] }, 1);
      expect(err).toBeLessThan(1e-6);
    }
  });

  it('CE one-unit sigmoid head', async () => {
    const d1: MlpDims = { ...dims, outputDim: 1 };
    const bytes = crossEntropyStepGraph(d1, 'sigmoid', true, 'float64');
    const err = await check(bytes, d1, { x, y: Float64Array.of(1, 0, 0, 1, 1), scale: Float64Array.of(1) }, { x: [B, 6], y: [B, 1], scale: [] }, 2);
    expect(err).toBeLessThan(1e-6);
  });

  for (const loss of ['soft', 'hard'] as const) {
    it(`contrastive head, ${loss} targets`, async () => {
      const t = unitRows(randn(rng, B * dims.outputDim), dims.outputDim);
      // Two identical texts in the batch: the case soft targets exist for.
      t.copyWithin(4 * dims.outputDim, 1 * dims.outputDim, 2 * dims.outputDim);
      const bytes = contrastiveStepGraph(dims, loss, 0.075, true, 'float64');
      const err = await check(bytes, dims, { x, t, scale: Float64Array.of(1) }, { x: [B, 6], t: [B, 4], scale: [] }, 3);
      expect(err).toBeLessThan(1e-5);
    });
  }
});
