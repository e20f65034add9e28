// Evaluation sets and metric rows. A method (a CE head, a contrastive head, zero-shot CLIP) is a
// `Scorer`: for an evaluation set and one of its taxonomies it returns class scores, or the reason why it
// cannot score that taxonomy — then the cell is written with value null ('X'), never left out.
import type { ManifestRow, StudyMetric } from '../formats.js';
import type { Json, JsonSchema } from '../stage-api.js';
import { loadTaxonomy, mapLabel, type Taxonomy } from '../data/taxonomy.js';
import { labelledSplit, loadEmbeddingIndex, readEmbeddingRows, readManifest } from '../train/data.js';
import { evaluate, type Evaluation } from './metrics.js';

/** One evaluation set of a stage's `eval_sets` param. */
export interface EvalSetSpec {
  /** Dataset id written into metric rows: `webemo`, `fi`, `iaps`, `emotion6`, `emotionroi`. */
  readonly dataset: string;
  readonly manifest: string;
  readonly embeddings: string;
  readonly index: string;
  readonly taxonomies: readonly string[];
  /** Split evaluated (default `test`; evaluation-only datasets put every image in `test`). */
  readonly split?: string;
}

/** JSON Schema of one eval set, shared by every stage that evaluates. */
export const EVAL_SET_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['dataset', 'manifest', 'embeddings', 'index', 'taxonomies'],
  properties: {
    dataset: { type: 'string', minLength: 1 },
    manifest: { type: 'string', format: 'path' },
    embeddings: { type: 'string', format: 'path' },
    index: { type: 'string', format: 'path' },
    taxonomies: { type: 'array', minItems: 1, items: { type: 'string' } },
    split: { type: 'string', default: 'test' },
  },
};

export interface PreparedSet {
  readonly spec: EvalSetSpec;
  /** Embeddings of the split's images [n, dim], in manifest order. */
  readonly x: Float32Array;
  readonly n: number;
  readonly dim: number;
  /** Images of the split left out because they have no embedding. */
  readonly missing: number;
  readonly taxonomies: readonly { readonly tax: Taxonomy; readonly truth: Int32Array }[];
}

/**
 * Loads every set once (per-epoch evaluation reuses them). `settings` e.g. `{ confusion: 'sadness' }`;
 * `dirs`: extra taxonomy directories (a stage's `taxonomy_dir`).
 */
export function prepareEvalSets(specs: readonly EvalSetSpec[], settings: Readonly<Record<string, string>> = {}, dirs: readonly string[] = []): PreparedSet[] {
  return specs.map((spec) => {
    // The split's rows only, read from the file: WEBEmo's test set is 110 MB of a 547 MB matrix.
    const table = loadEmbeddingIndex(spec.embeddings, spec.index);
    const manifest: ManifestRow[] = readManifest(spec.manifest);
    const split = spec.split ?? 'test';
    let first: { rows: Uint32Array; missing: number } | undefined;
    const taxonomies = spec.taxonomies.map((id) => {
      const tax = loadTaxonomy(id, { settings, dirs });
      const ls = labelledSplit(spec.manifest, manifest, table, tax, split);
      first ??= ls;
      return { tax, truth: ls.labels };
    });
    const { rows, missing } = first as { rows: Uint32Array; missing: number };
    return { spec, x: readEmbeddingRows(table, rows), n: rows.length, dim: table.dim, missing, taxonomies };
  });
}

export type ScoreResult =
  | { readonly scores: Float32Array; readonly tags?: Readonly<Record<string, string>> }
  | { readonly notComputable: string; readonly tags?: Readonly<Record<string, string>> };

export type Scorer = (set: PreparedSet, tax: Taxonomy) => Promise<ScoreResult>;

export interface RowBase {
  readonly method: string;
  readonly seed: number | null;
  readonly epoch: number | null;
  readonly tags?: Readonly<Record<string, string>>;
}

const TOP_K = [3, 5] as const;

/** Class index of each class's parent in the next coarser level, when the taxonomy has one. */
function parentIndex(tax: Taxonomy): { level: string; parentOf: Int32Array } | null {
  const up = tax.ancestors[0];
  if (!up) return null;
  return { level: up.id, parentOf: Int32Array.from(tax.classes.map((c) => up.classes.findIndex((p) => p.id === tax.parents[up.id][c.id]))) };
}

/** The metric names a cell of this taxonomy has, computable or not (so an 'X' cell has the same rows). */
function metricNames(tax: Taxonomy): string[] {
  return ['accuracy', 'per_class_accuracy', 'macro_f1', 'confusion', ...TOP_K.filter((k) => k < tax.classes.length).map((k) => `top${k}_accuracy`), 'hier_accuracy'];
}

function rowsOf(base: RowBase, set: PreparedSet, tax: Taxonomy, ev: Evaluation, tags: Readonly<Record<string, string>>): StudyMetric[] {
  const dataset = set.spec.dataset;
  const labels = tax.classes.map((c) => c.id);
  const hier = parentIndex(tax);
  const row = (metric: string, value: number | null, detail?: Json): StudyMetric => ({ method: base.method, dataset, taxonomy: tax.id, seed: base.seed, epoch: base.epoch, metric, value, detail, tags });
  return [
    row('accuracy', ev.accuracy, { n: ev.n, missing_embeddings: set.missing }),
    row('per_class_accuracy', ev.balancedAccuracy, Object.fromEntries(labels.map((l, k) => [l, ev.perClass[k]]))),
    row('macro_f1', ev.macroF1),
    row('confusion', ev.n, { labels, matrix: ev.confusion.map((r) => [...r]) }),
    ...TOP_K.filter((k) => k < labels.length).map((k) => row(`top${k}_accuracy`, ev.topK[k])),
    hier ? row('hier_accuracy', ev.hierAccuracy, { parent_taxonomy: hier.level }) : row('hier_accuracy', null, { reason: `${tax.id} has no coarser level` }),
  ];
}

function notComputableRows(base: RowBase, dataset: string, tax: Taxonomy, reason: string, tags: Readonly<Record<string, string>>): StudyMetric[] {
  return metricNames(tax).map((metric) => ({ method: base.method, dataset, taxonomy: tax.id, seed: base.seed, epoch: base.epoch, metric, value: null, detail: { reason }, tags }));
}

/** Scores every (set, taxonomy) cell and returns its metric rows (null-valued rows where not computable). */
export async function evaluateSets(sets: readonly PreparedSet[], scorer: Scorer, base: RowBase): Promise<StudyMetric[]> {
  const out: StudyMetric[] = [];
  for (const set of sets) {
    for (const { tax, truth } of set.taxonomies) {
      const r = await scorer(set, tax);
      const tags = { ...base.tags, ...tax.settings, ...r.tags };
      if ('notComputable' in r) {
        out.push(...notComputableRows(base, set.spec.dataset, tax, r.notComputable, tags));
      } else {
        out.push(...rowsOf(base, set, tax, evaluate(r.scores, tax.classes.length, truth, TOP_K, parentIndex(tax)?.parentOf), tags));
      }
    }
  }
  return out;
}

/** A scorer and the tags that tell its rows apart from the other scorers' of the same method. */
export interface Variant {
  readonly scorer: Scorer;
  /** `{}` for the method's main rows; `{ variant: 'prompts=own' }` for an extra, labelled row. */
  readonly tags: Readonly<Record<string, string>>;
}

/** `evaluateSets` once per variant, each variant's tags added to its rows. */
export async function evaluateVariants(sets: readonly PreparedSet[], variants: readonly Variant[], base: RowBase): Promise<StudyMetric[]> {
  const out: StudyMetric[] = [];
  for (const v of variants) out.push(...(await evaluateSets(sets, v.scorer, { ...base, tags: { ...base.tags, ...v.tags } })));
  return out;
}

/**
 * Column permutation that reads a head's outputs (classes of `from`) in `to`'s class order, when the
 * two taxonomies have the same classes (same taxonomy, aligned ones, or two binary ones); else null.
 */
export function samePrediction(from: Taxonomy, to: Taxonomy): Int32Array | null {
  if (from.classes.length !== to.classes.length) return null;
  const perm = new Int32Array(to.classes.length).fill(-1);
  for (let k = 0; k < from.classes.length; k++) {
    let cls: string;
    try {
      cls = mapLabel(from, to, from.classes[k].id);
    } catch {
      return null;
    }
    const j = to.classes.findIndex((c) => c.id === cls);
    if (j < 0 || perm[j] !== -1) return null;
    perm[j] = k;
  }
  return perm;
}
