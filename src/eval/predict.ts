// Running a trained head on embeddings: the library entry points behind per-epoch evaluation and
// `pipe predict`. A CE head gives class probabilities directly; a contrastive head gives an image-side
// embedding that is scored against prompts (see prompts.ts) and turned into a distribution with
// softmax(cos / τ), τ being the head's training temperature.
import { loadTaxonomy } from '../data/taxonomy.js';
import { dataError } from '../data/errors.js';
import { loadHead, type Head } from '../train/checkpoint.js';
import { inferenceGraph } from '../train/graphs.js';
import { ortSessionOptions } from '../train/ort-options.js';
import type { PromptTable } from '../train/contrastive.js';
import { classPrompts, promptClassScores, type PromptChoice } from './prompts.js';

export { loadHead };
export type { Head };

type Ort = typeof import('onnxruntime-node');

const CHUNK = 8192;

/**
 * The head's output for n embeddings x [n, D]: probabilities [n, C] (CE, in `head.meta.classes` order)
 * or L2-normalised embeddings [n, E] (contrastive).
 */
export async function headOutputs(ort: Ort, head: Head, x: Float32Array, n: number, threads = 1): Promise<{ data: Float32Array; dim: number }> {
  const out = await groupOutputs(ort, [head], x, n, threads);
  return { data: out.data[0], dim: out.dim };
}

/**
 * `headOutputs` of several heads of one architecture (a group trained together) in one pass over x:
 * one stacked forward per chunk. Each head's output is the same as `headOutputs` gives it alone
 * (the stacked graph never mixes heads; test/train/group.test.ts).
 */
export async function groupOutputs(ort: Ort, heads: readonly Head[], x: Float32Array, n: number, threads = 1): Promise<{ data: Float32Array[]; dim: number }> {
  const { meta } = heads[0];
  const d = meta.dims.inputDim;
  if (x.length !== n * d) throw dataError(`head ${meta.taxonomy}`, `expects ${d}-d embeddings, got ${x.length / Math.max(n, 1)}-d`, 'Use embeddings of the CLIP model the head was trained on.');
  const session = await ort.InferenceSession.create(inferenceGraph(meta.type, meta.ceOutput, meta.dims, heads.map((h) => h.weights)), ortSessionOptions(threads));
  const dim = meta.type === 'contrastive' ? meta.dims.outputDim : meta.classes.length;
  const out = heads.map(() => new Float32Array(n * dim));
  for (let start = 0; start < n; start += CHUNK) {
    const b = Math.min(CHUNK, n - start);
    const y = (await session.run({ x: new ort.Tensor('float32', x.subarray(start * d, (start + b) * d), [b, d]) })).y.data as Float32Array;
    out.forEach((o, k) => o.set(y.subarray(k * b * dim, (k + 1) * b * dim), start * dim));
  }
  await session.release();
  return { data: out, dim };
}

export interface Prediction {
  readonly classes: readonly string[];
  /** [n, classes.length], rows sum to 1. */
  readonly probs: Float32Array;
}

/**
 * Class distributions of n embeddings. A contrastive head needs `prompts` and may target any taxonomy
 * (`taxonomy`, default the head's) through `choice` (default: the paper's protocol, the sentiment and synonym
 * captions of the head's training taxonomy mapped up its hierarchy; see prompts.ts). `dirs`: extra
 * taxonomy directories (the training stage's `taxonomy_dir`).
 */
export async function predict(head: Head, x: Float32Array, n: number, opts: { prompts?: PromptTable; taxonomy?: string; choice?: PromptChoice; threads?: number; dirs?: readonly string[] } = {}): Promise<Prediction> {
  const ort = await import('onnxruntime-node');
  const out = await headOutputs(ort, head, x, n, opts.threads);
  if (head.meta.type === 'cross_entropy') return { classes: head.meta.classes, probs: out.data };
  if (!opts.prompts) throw dataError(`contrastive head ${head.meta.taxonomy}`, 'needs prompt embeddings to predict classes', 'Pass the prompts (prompts.jsonl + their embeddings).');
  const target = loadTaxonomy(opts.taxonomy ?? head.meta.taxonomy, { settings: head.meta.taxonomySettings, dirs: opts.dirs });
  const cp = classPrompts(opts.prompts, target, opts.choice ?? { source: 'paper', taxonomy: head.meta.taxonomy });
  if ('notComputable' in cp) throw dataError(`taxonomy ${target.id}`, cp.notComputable);
  const c = target.classes.length;
  const scores = await promptClassScores(ort, out.data, n, opts.prompts, cp, c);
  const tau = Number(head.meta.training.tau ?? 1);
  for (let r = 0; r < n; r++) softmaxInPlace(scores, r * c, c, 1 / tau);
  return { classes: target.classes.map((k) => k.id), probs: scores };
}

/** Softmax of scores[o .. o+c) × scale; a class without prompts (-Infinity) gets probability 0. */
function softmaxInPlace(s: Float32Array, o: number, c: number, scale: number): void {
  let max = -Infinity;
  for (let j = 0; j < c; j++) max = Math.max(max, s[o + j]);
  let sum = 0;
  for (let j = 0; j < c; j++) {
    const v = Math.exp((s[o + j] - max) * scale);
    s[o + j] = v;
    sum += v;
  }
  for (let j = 0; j < c; j++) s[o + j] /= sum;
}
