// `eval/zero-shot`: CLIP without a head — each image's embedding against the prompt embeddings of the
// evaluated taxonomy (own class names, with synonyms, or WEBEmo prompts mapped through the hierarchy).
import { toMetricRow } from '../../src/formats.js';
import { defineStage } from '../../src/stage-api.js';
import { EVAL_SET_SCHEMA, type EvalSetSpec } from '../../src/eval/evaluate.js';
import { PROMPT_SOURCES, type PromptFiles, type PromptSource } from '../../src/eval/prompts.js';
import { evalSetsFingerprint, TAXONOMY_DIR_PROPERTY, taxonomyDirsOf } from '../../src/data/ingest-stage.js';

export interface ZeroShotParams {
  readonly prompts: PromptFiles;
  readonly eval_sets: readonly EvalSetSpec[];
  readonly prompt_source: PromptSource;
  readonly prompt_taxonomy: string;
  readonly confusion: 'sadness' | 'own';
  /** A directory of extra taxonomy files (evaluated or prompt taxonomies). */
  readonly taxonomy_dir?: string;
}

export default defineStage<ZeroShotParams>({
  kind: 'eval/zero-shot',
  version: '3',
  description: 'CLIP zero-shot classification from prompt embeddings on every evaluation set',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['prompts', 'eval_sets'],
    properties: {
      prompts: {
        type: 'object',
        additionalProperties: false,
        required: ['prompts', 'embeddings', 'index'],
        properties: {
          prompts: { type: 'string', format: 'path' },
          embeddings: { type: 'string', format: 'path' },
          index: { type: 'string', format: 'path' },
        },
      },
      eval_sets: { type: 'array', minItems: 1, items: EVAL_SET_SCHEMA },
      prompt_source: { enum: [...PROMPT_SOURCES], default: 'own' },
      prompt_taxonomy: { type: 'string', default: 'webemo25', description: 'source taxonomy of prompt_source: mapped' },
      confusion: { enum: ['sadness', 'own'], default: 'sadness' },
      taxonomy_dir: TAXONOMY_DIR_PROPERTY,
    },
  },
  outputs: {},
  async fingerprint(p) {
    return evalSetsFingerprint(p.eval_sets, p);
  },
  async run(ctx) {
    const p = ctx.params;
    const ort = await import('onnxruntime-node');
    const { loadPromptTable, SCORING_KINDS } = await import('../../src/eval/prompts.js');
    const { prepareEvalSets, evaluateSets } = await import('../../src/eval/evaluate.js');
    const { zeroShotScorer } = await import('../../src/eval/scorers.js');
    const prompts = loadPromptTable(p.prompts, SCORING_KINDS);
    const sets = prepareEvalSets(p.eval_sets, { confusion: p.confusion }, taxonomyDirsOf(p));
    const rows = await evaluateSets(sets, zeroShotScorer(ort, prompts, { source: p.prompt_source, taxonomy: p.prompt_taxonomy }), { method: 'clip_zero_shot', seed: null, epoch: null });
    for (const r of rows) ctx.metric(toMetricRow(r));
    ctx.log(`clip_zero_shot: ${rows.length} metric rows over ${sets.length} set(s)`);
  },
});
