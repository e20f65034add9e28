// `eval/baselines`: the paper's `random` (1/C) and `most_represented_class` rows for every evaluation set.
import { toMetricRow } from '../../src/formats.js';
import { defineStage } from '../../src/stage-api.js';
import { EVAL_SET_SCHEMA, type EvalSetSpec } from '../../src/eval/evaluate.js';
import { TAXONOMY_DIR_PROPERTY, taxonomyDirsOf } from '../../src/data/ingest-stage.js';

export interface BaselinesParams {
  readonly eval_sets: readonly EvalSetSpec[];
  readonly confusion: 'sadness' | 'own';
  /** A directory of extra taxonomy files (evaluated taxonomies). */
  readonly taxonomy_dir?: string;
}

export default defineStage<BaselinesParams>({
  kind: 'eval/baselines',
  version: '2',
  description: 'Random and most-represented-class baselines on every evaluation set',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['eval_sets'],
    properties: {
      eval_sets: { type: 'array', minItems: 1, items: EVAL_SET_SCHEMA },
      confusion: { enum: ['sadness', 'own'], default: 'sadness' },
      taxonomy_dir: TAXONOMY_DIR_PROPERTY,
    },
  },
  outputs: {},
  async run(ctx) {
    const { prepareEvalSets } = await import('../../src/eval/evaluate.js');
    const { baselineRows } = await import('../../src/eval/baselines.js');
    const p = ctx.params;
    const rows = await baselineRows(prepareEvalSets(p.eval_sets, { confusion: p.confusion }, taxonomyDirsOf(p)));
    for (const r of rows) ctx.metric(toMetricRow(r));
  },
});
