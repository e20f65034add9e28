// The scorers of the paper's methods: a CE head, a contrastive head, and CLIP zero-shot (no head).
// Each computes a set's image-side outputs once and reuses them for every taxonomy of the set; heads
// trained together get theirs from one stacked forward pass per set (`groupHeadOutputs`).
import type { Taxonomy } from '../data/taxonomy.js';
import type { Head } from '../train/checkpoint.js';
import type { PromptTable } from '../train/contrastive.js';
import { normaliseRows } from '../train/data.js';
import type { PreparedSet, Scorer } from './evaluate.js';
import { samePrediction } from './evaluate.js';
import { groupOutputs, headOutputs } from './predict.js';
import { classPrompts, promptClassScores, type PromptChoice } from './prompts.js';
import { loadTaxonomy } from '../data/taxonomy.js';

type Ort = typeof import('onnxruntime-node');

function perSet<T>(compute: (set: PreparedSet) => Promise<T>): (set: PreparedSet) => Promise<T> {
  const cache = new Map<PreparedSet, Promise<T>>();
  return (set) => {
    let hit = cache.get(set);
    if (!hit) cache.set(set, (hit = compute(set)));
    return hit;
  };
}

/** A head's outputs on an evaluation set ([n, C] probabilities or [n, E] embeddings), computed once per set. */
export type HeadFeatures = (set: PreparedSet) => Promise<Float32Array>;

/** The outputs of one head alone. */
export function headFeatures(ort: Ort, head: Head, threads = 1): HeadFeatures {
  return perSet(async (set) => (await headOutputs(ort, head, set.x, set.n, threads)).data);
}

/**
 * The outputs of a group of heads of one architecture: the first head that asks for a set runs one
 * stacked forward pass over it for all of them (predict.ts `groupOutputs`); each head's are the same as
 * `headFeatures` gives it alone.
 */
export function groupHeadOutputs(ort: Ort, heads: readonly Head[], threads = 1): HeadFeatures[] {
  const all = perSet(async (set) => (await groupOutputs(ort, heads, set.x, set.n, threads)).data);
  return heads.map((_, k) => async (set) => (await all(set))[k]);
}

/**
 * A CE head scores a taxonomy with the same classes as its own (its own, an aligned one, or binary <->
 * binary). `dirs`: extra taxonomy directories, where the head's own taxonomy may be; `outputs`: the
 * head's outputs (default: computed for this head alone).
 */
export function ceHeadScorer(ort: Ort, head: Head, threads = 1, dirs: readonly string[] = [], outputs: HeadFeatures = headFeatures(ort, head, threads)): Scorer {
  const own = loadTaxonomy(head.meta.taxonomy, { settings: head.meta.taxonomySettings, dirs });
  return async (set: PreparedSet, tax: Taxonomy) => {
    const perm = samePrediction(own, tax);
    if (!perm) return { notComputable: `a ${own.id} cross-entropy head cannot predict ${tax.id} classes` };
    const probs = await outputs(set);
    const c = perm.length;
    const scores = new Float32Array(set.n * c);
    for (let r = 0; r < set.n; r++) for (let j = 0; j < c; j++) scores[r * c + j] = probs[r * c + perm[j]];
    return { scores };
  };
}

/**
 * Prompt-based scoring of L2-normalised image-side features (computed once per set by `features`, shared
 * by every choice): a contrastive head's outputs, or the raw CLIP image embeddings for zero-shot.
 */
export function promptScorers(ort: Ort, features: (set: PreparedSet) => Promise<Float32Array>, prompts: PromptTable, choices: readonly PromptChoice[]): Scorer[] {
  const cached = perSet(features);
  return choices.map((choice) => async (set: PreparedSet, tax: Taxonomy) => {
    const cp = classPrompts(prompts, tax, choice);
    if ('notComputable' in cp) return { notComputable: cp.notComputable, tags: { prompts: choice.source } };
    return { scores: await promptClassScores(ort, await cached(set), set.n, prompts, cp, tax.classes.length), tags: cp.tags };
  });
}

export function contrastiveHeadScorers(ort: Ort, head: Head, prompts: PromptTable, choices: readonly PromptChoice[], threads = 1, outputs: HeadFeatures = headFeatures(ort, head, threads)): Scorer[] {
  return promptScorers(ort, outputs, prompts, choices);
}

export function zeroShotScorer(ort: Ort, prompts: PromptTable, choice: PromptChoice): Scorer {
  return promptScorers(ort, async (set) => normaliseRows(Float32Array.from(set.x), set.dim), prompts, [choice])[0];
}
