// `eval/baselines`: the paper's `random` (1/C) and `most_represented_class` rows for every evaluation set.
import { defineStage } from '../../src/stage-api.js';
import { EVAL_SET_SCHEMA, type EvalSetSpec } from '../../src/eval/evaluate.js';

export interface BaselinesParams {
  readonly eval_sets: readonly EvalSetSpec[];
  readonly confusion: 'sadness' | 'own';
}

export default defineStage<BaselinesParams>({
  kind: 'eval/baselines',
  version: '1',
  description: 'Random and most-represented-class baselines on every evaluation set',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['eval_sets'],
    properties: {
      eval_sets: { type: 'array', minItems: 1, items: EVAL_SET_SCHEMA },
      confusion: { enum: ['sadness', 'own'], default: 'sadness' },
    },
  },
  outputs: {},
  async run(ctx) {
    const { prepareEvalSets } = await import('../../src/eval/evaluate.js');
    const { baselineRows } = await import('../../src/eval/baselines.js');
    const rows = await baselineRows(prepareEvalSets(ctx.params.eval_sets, { confusion: ctx.params.confusion }));
    for (const r of rows) ctx.metric(r);
  },
});
