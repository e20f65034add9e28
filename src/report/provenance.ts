// The provenance footer of every table: enough to tell which pipeline, params, model, code and choices
// produced the numbers, and when.
import type { StudyMetric } from '../formats.js';
import type { Json } from '../stage-api.js';

export interface Provenance {
  /** Run id (from the store), when known. */
  readonly run?: string;
  readonly date: string;
  /** What rendered the tables: the stage instance or `pipe tables`. */
  readonly rendered_by: string;
  /** `path (sha256 …)` of the pipeline file. */
  readonly pipeline?: string;
  readonly params?: Json;
  /** `path (sha256 …)` of the CLIP model. */
  readonly model?: string;
  /** Every tag key on the tabulated rows with the values seen, e.g. `{ confusion: ["sadness"] }`. */
  readonly taxonomy_choices: Readonly<Record<string, string[]>>;
  readonly code_version: string;
  readonly metric_rows: string;
  readonly statistics: string;
}

/** Tag keys and values seen on the rows (sorted), e.g. the WEBEmo confusion mapping and the loss form. */
export function tagChoices(rows: Iterable<StudyMetric>): Record<string, string[]> {
  const seen = new Map<string, Set<string>>();
  for (const r of rows) {
    for (const [k, v] of Object.entries(r.tags ?? {})) {
      if (!seen.has(k)) seen.set(k, new Set());
      seen.get(k)!.add(v);
    }
  }
  return Object.fromEntries([...seen.keys()].sort().map((k) => [k, [...seen.get(k)!].sort()]));
}

export const STATISTICS = 'mean and sample standard deviation (n - 1) over seeds; accuracy in %';
