// The file formats that stages hand to each other. Every stage that reads or writes one of these uses
// these types, so a change of format is a change here (and a stage `version` bump where it applies).

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
