// Prediction from prompts (contrastive heads and CLIP zero-shot): cosine similarity of an image-side
// embedding with every prompt's text embedding; a class scores the best of its prompts (argmax prompt ->
// its class, as in the authors' notebooks); prompts of another taxonomy count for the class they map to.
import type { InferenceSession } from 'onnxruntime-node';
import type { PromptKind, PromptRow } from '../formats.js';
import { dataError } from '../data/errors.js';
import { mapLabel, relatedTaxonomy, type Taxonomy } from '../data/taxonomy.js';
import { readJsonl } from '../io/jsonl.js';
import type { PromptTable } from '../train/contrastive.js';
import { loadEmbeddingIndex, normaliseRows, readEmbeddingRows } from '../train/data.js';
import { ortSessionOptions } from '../train/ort-options.js';

export interface PromptFiles {
  /** `prompts.jsonl` (PromptRow per line). */
  readonly prompts: string;
  /** The `clip/embed-texts` output for it: `embeddings.npy` and `index.jsonl` (ids = prompt ids). */
  readonly embeddings: string;
  readonly index: string;
}

/** The prompt kinds that score images (sentiment and synonym captions); `ic` rows only train. */
export const SCORING_KINDS: readonly PromptKind[] = ['sc', 'ssc'];

/**
 * Loads prompts and their text embeddings, L2-normalised, row k of `texts` = `rows[k]`. `kinds`: only
 * prompts of these kinds (scoring needs SCORING_KINDS: then WEBEmo's 267k image captions, 547 MB of text
 * embeddings, are not loaded).
 */
export function loadPromptTable(f: PromptFiles, kinds?: readonly PromptKind[]): PromptTable {
  const all = readJsonl<PromptRow>(f.prompts);
  const rows = kinds ? all.filter((r) => kinds.includes(r.kind)) : all;
  // Only the prompts' rows, read from the file (one copy, not the matrix and a gathered copy of it).
  const table = loadEmbeddingIndex(f.embeddings, f.index);
  const missing = rows.filter((r) => !table.rowOf.has(r.id));
  if (missing.length > 0) {
    throw dataError(f.index, `${missing.length} prompts of ${f.prompts} have no embedding (e.g. ${missing[0].id})`, 'Embed the same prompts.jsonl with clip/embed-texts.');
  }
  const texts = normaliseRows(readEmbeddingRows(table, rows.map((r) => table.rowOf.get(r.id) as number)), table.dim);
  return { rows, texts: { data: texts, dim: table.dim }, file: f.prompts };
}

/**
 * The scoring prompts (SCORING_KINDS) of a loaded table, their text rows copied out: what evaluation
 * reads, the same rows and vectors as `loadPromptTable(f, SCORING_KINDS)`. A training stage keeps this
 * for its per-epoch evaluation instead of the whole table's 267k image-caption rows.
 */
export function scoringPrompts(table: PromptTable): PromptTable {
  const keep = table.rows.flatMap((r, k) => (SCORING_KINDS.includes(r.kind) ? [k] : []));
  const d = table.texts.dim;
  const texts = new Float32Array(keep.length * d);
  keep.forEach((k, j) => texts.set(table.texts.data.subarray(k * d, (k + 1) * d), j * d));
  return { rows: keep.map((k) => table.rows[k]), texts: { data: texts, dim: d }, file: table.file };
}

/**
 * Which prompts stand for the classes of an evaluated taxonomy:
 *   paper         — the paper's inference (section III-A): the sentiment captions (sc) *and* synonym
 *                   captions (ssc) of the prompt taxonomy (the training one, e.g. webemo25); the most similar
 *                   prompt decides, a synonym counts as its class, and a coarser level of the same dataset
 *                   (webemo6, webemo2) takes the prediction up the hierarchy ("positivity" -> optimism ->
 *                   joy -> positive). Any other taxonomy (another dataset, which has no synonym table of
 *                   its own in the paper) is scored with its own sc prompts, plus its ssc ones if built;
 *   own           — the taxonomy's own sentiment captions (sc);
 *   own_synonyms  — its sc and synonym captions (ssc);
 *   mapped        — the sc prompts of `taxonomy` (e.g. webemo25) mapped through the hierarchy.
 */
export type PromptSource = 'paper' | 'own' | 'own_synonyms' | 'mapped';
export const PROMPT_SOURCES: readonly PromptSource[] = ['paper', 'own', 'own_synonyms', 'mapped'];

export interface PromptChoice {
  readonly source: PromptSource;
  /** Source taxonomy of `mapped` and `paper` prompts (default: the evaluated taxonomy). */
  readonly taxonomy?: string;
}

/** Prompt rows used for a target taxonomy and the target class index of each. */
export interface ClassPrompts {
  readonly rows: readonly number[];
  readonly classOf: Int32Array;
  readonly tags: Readonly<Record<string, string>>;
}

/** The taxonomy whose prompts score `target`, and which kinds of its prompts. */
function promptPlan(target: Taxonomy, choice: PromptChoice): { from: Taxonomy; kinds: readonly PromptKind[]; mapped: boolean } {
  switch (choice.source) {
    case 'own':
      return { from: target, kinds: ['sc'], mapped: false };
    case 'own_synonyms':
      return { from: target, kinds: ['sc', 'ssc'], mapped: false };
    case 'mapped':
      return { from: relatedTaxonomy(target, choice.taxonomy ?? target.id), kinds: ['sc'], mapped: true };
    case 'paper': {
      const from = relatedTaxonomy(target, choice.taxonomy ?? target.id);
      // Only the levels of the prompt taxonomy's own hierarchy: other datasets use their own classes.
      return from.levels.includes(target.id) ? { from, kinds: ['sc', 'ssc'], mapped: from.id !== target.id } : { from: target, kinds: ['sc', 'ssc'], mapped: false };
    }
  }
}

/** The prompts for `target`, or a reason why the choice cannot score it (a not-computable cell). */
export function classPrompts(table: PromptTable, target: Taxonomy, choice: PromptChoice): ClassPrompts | { notComputable: string } {
  const { from, kinds, mapped } = promptPlan(target, choice);
  const rows: number[] = [];
  const classOf: number[] = [];
  let synonyms = 0;
  for (let k = 0; k < table.rows.length; k++) {
    const p = table.rows[k];
    if (!kinds.includes(p.kind) || p.taxonomy !== from.id || p.class === undefined) continue;
    let cls: string;
    try {
      cls = from === target ? p.class : mapLabel(from, target, p.class);
    } catch (e) {
      return { notComputable: (e as Error).message };
    }
    const c = target.classes.findIndex((x) => x.id === cls);
    if (c < 0) continue;
    rows.push(k);
    classOf.push(c);
    if (p.kind === 'ssc') synonyms++;
  }
  const covered = new Set(classOf);
  if (!mapped) {
    const missing = target.classes.filter((_, c) => !covered.has(c)).map((x) => x.id);
    if (missing.length > 0) {
      throw dataError(table.file, `no ${kinds.join('/')} prompt for ${target.id} class(es) ${missing.join(', ')}`, `Build prompts for taxonomy ${target.id}, or evaluate it with prompts: mapped.`);
    }
  } else if (rows.length === 0) {
    throw dataError(table.file, `no ${kinds.join('/')} prompts of taxonomy ${from.id} to map onto ${target.id}`, 'Build sc prompts for the prompt taxonomy.');
  }
  // Recorded in every metric row: which protocol, whose prompts, and how many of them were synonyms.
  const tags: Record<string, string> = { prompts: choice.source, prompt_taxonomy: from.id, prompt_count: String(rows.length), synonym_prompts: String(synonyms) };
  return { rows, classOf: Int32Array.from(classOf), tags };
}

type Ort = typeof import('onnxruntime-node');

/** Rows per session.run when scoring large evaluation sets (bounds the [rows, prompts] output). */
const CHUNK = 8192;

/**
 * Class scores [n, C]: for each image the best cosine similarity among each class's prompts. `features`
 * must be L2-normalised rows (head outputs are; raw CLIP embeddings go through `normaliseRows`).
 */
export async function promptClassScores(ort: Ort, features: Float32Array, n: number, table: PromptTable, cp: ClassPrompts, classes: number): Promise<Float32Array> {
  const e = table.texts.dim;
  const m = cp.rows.length;
  const pt = new Float32Array(e * m); // Pᵀ [E, M]
  cp.rows.forEach((row, j) => {
    for (let d = 0; d < e; d++) pt[d * m + j] = table.texts.data[row * e + d];
  });
  const { similarityGraph } = await import('../train/graphs.js');
  const session: InferenceSession = await ort.InferenceSession.create(similarityGraph(pt, e, m), ortSessionOptions(1));
  const scores = new Float32Array(n * classes).fill(-Infinity);
  for (let start = 0; start < n; start += CHUNK) {
    const b = Math.min(CHUNK, n - start);
    const out = await session.run({ x: new ort.Tensor('float32', features.subarray(start * e, (start + b) * e), [b, e]) });
    const sim = out.sim.data as Float32Array;
    for (let i = 0; i < b; i++) {
      const o = (start + i) * classes;
      for (let j = 0; j < m; j++) {
        const c = o + cp.classOf[j];
        if (sim[i * m + j] > scores[c]) scores[c] = sim[i * m + j];
      }
    }
  }
  await session.release();
  return scores;
}
