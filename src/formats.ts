// The file formats that stages hand to each other. Every stage that reads or writes one of these uses
// these types, so a change of format is a change here (and a stage `version` bump where it applies).
import type { Json, MetricRow, TagValue } from './stage-api.js';
/** One image of a dataset: a line of `manifest.jsonl`, written by every `ingest/*` stage. */
export interface ManifestRow {
  /** Stable id within the dataset, e.g. the path relative to the dataset root without extension. */
  readonly id: string;
  /** Absolute path of the image file. */
  readonly path: string;
  /** sha256 hex of the file content. */
  readonly hash: string;
  /** `train`, `val` or `test` (datasets without splits use `test`: they are evaluation-only). */
  readonly split: string;
  /** Class id per taxonomy id, e.g. `{ webemo25: "optimism", webemo6: "joy", webemo2: "positive" }`. */
  readonly labels: Readonly<Record<string, string>>;
}

/** A row of an embedding index (`index.jsonl`), aligned with the rows of `embeddings.npy`. */
export interface EmbeddingIndexRow {
  readonly id: string;
  readonly row: number;
  /** Image rows: the image path and content hash. */
  readonly path?: string;
  readonly hash?: string;
  /** Text rows: the exact text that was embedded. */
  readonly text?: string;
}

/** Kinds of text prompt in CLIP-E: sentiment caption, synonym sentiment caption, image caption. */
export type PromptKind = 'sc' | 'ssc' | 'ic';

/** A line of `prompts.jsonl` (written by `prompts/build`, embedded by `clip/embed-texts`). */
export interface PromptRow {
  readonly id: string;
  readonly kind: PromptKind;
  readonly text: string;
  /** Taxonomy and class the prompt stands for (SC, SSC). */
  readonly taxonomy?: string;
  readonly class?: string;
  /** The image an image caption (IC) describes: its manifest id. */
  readonly image?: string;
}

/** Canonical ids of the paper's table rows; metric rows use them as `method`. */
export const METHODS = [
  'random',
  'most_represented_class',
  'clip_zero_shot',
  'clipe_cross_entropy',
  'clipe_contrastive',
  'clipe_contrastive_sc',
  'clipe_contrastive_ic',
  'clipe_contrastive_sc_ic',
  'clipe_contrastive_sc_ssc',
] as const;
export type Method = (typeof METHODS)[number];

/**
 * A metric row in the study's vocabulary. The results store and `metrics.jsonl` hold generic rows (name,
 * value, step, tags, detail: src/stage-api.ts MetricRow); the study's columns travel as tags (`method`,
 * `dataset`, `taxonomy`, `seed`) and the epoch as the step. `toMetricRow` and `studyRow` convert.
 */
export interface StudyMetric {
  /** Table row id, e.g. `clipe_cross_entropy`, `clipe_contrastive_sc_ic`, `clip_zero_shot`, `random`. */
  readonly method: string;
  /** Evaluation dataset id: `webemo`, `fi`, `iaps`, `emotion6`, `emotionroi`. */
  readonly dataset: string;
  /** Taxonomy id: `webemo25`, `webemo6`, `webemo2`, `fi8`, `fi2`, `iaps2`, `emotion6_6`, ... */
  readonly taxonomy: string;
  readonly seed: number | null;
  /** 1-based epoch; null for untrained methods (zero-shot, baselines). */
  readonly epoch: number | null;
  /** e.g. `accuracy`, `macro_f1`, `top3_accuracy`, `hier_accuracy`, `confusion`, `val_loss`. */
  readonly metric: string;
  /** null means "not computable" (an 'X' cell), never "missing". */
  readonly value: number | null;
  /** Structured detail, e.g. `{ labels: [...], matrix: [[...]] }` for a confusion matrix. */
  readonly detail?: Json;
  /** Choices that qualify the number: `{ confusion: "sadness", loss: "soft", prompts: "own" }`. */
  readonly tags?: Readonly<Record<string, string>>;
}

/** The tags that hold the study's columns; every other tag is a choice that qualifies the number. */
const STUDY_TAGS = ['method', 'dataset', 'taxonomy', 'seed'] as const;

export function toMetricRow(m: StudyMetric): MetricRow {
  const tags: Record<string, TagValue> = { ...m.tags, method: m.method, dataset: m.dataset, taxonomy: m.taxonomy };
  if (m.seed !== null) tags.seed = m.seed;
  return { name: m.metric, value: m.value, step: m.epoch, tags, ...(m.detail !== undefined ? { detail: m.detail } : {}) };
}

/** The study's reading of a generic row; undefined for rows that are not the study's (no method tag). */
export function studyRow(r: MetricRow): StudyMetric | undefined {
  const t = r.tags ?? {};
  if (typeof t.method !== 'string' || typeof t.dataset !== 'string' || typeof t.taxonomy !== 'string') return undefined;
  const choices: Record<string, string> = {};
  for (const [k, v] of Object.entries(t)) if (!(STUDY_TAGS as readonly string[]).includes(k)) choices[k] = String(v);
  return {
    method: t.method,
    dataset: t.dataset,
    taxonomy: t.taxonomy,
    seed: typeof t.seed === 'number' ? t.seed : null,
    epoch: r.step ?? null,
    metric: r.name,
    value: r.value,
    ...(r.detail !== undefined ? { detail: r.detail } : {}),
    ...(Object.keys(choices).length ? { tags: choices } : {}),
  };
}

/** The study's rows among `rows`, in order. */
export function studyRows(rows: Iterable<MetricRow>): StudyMetric[] {
  const out: StudyMetric[] = [];
  for (const r of rows) {
    const s = studyRow(r);
    if (s) out.push(s);
  }
  return out;
}
