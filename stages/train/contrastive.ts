// `train/contrastive`: the CLIP-E contrastive head (image side Dense(512, relu) -> Dense(512), text side
// the frozen CLIP text embedding) with the authors' soft-target loss or CLIP's hard-target InfoNCE, on
// (image, prompt) pairs of the enabled caption types; evaluated from prompts after every epoch.
import type { PromptKind } from '../../src/formats.js';
import type { PromptTable } from '../../src/train/contrastive.js';
import { defineStage, StageError } from '../../src/stage-api.js';
import { ingestTaxonomy } from '../../src/data/ingest-stage.js';
import { PROMPT_SOURCES, type PromptFiles, type PromptSource } from '../../src/eval/prompts.js';
import type { StageContext } from '../../src/stage-api.js';
import { commonTrainProperties, loadTrainingData, runJobs, runTraining, SharedInputs, trainFingerprint, TRAIN_OUTPUTS, type CommonTrainParams, type TrainingJob } from '../../src/train/stage.js';

export interface ContrastiveParams extends CommonTrainParams {
  readonly prompts: PromptFiles;
  readonly captions: readonly PromptKind[];
  readonly loss: 'soft' | 'hard';
  readonly tau: number;
  readonly eval_prompts: PromptSource;
  readonly extra_eval_prompts: readonly PromptSource[];
  readonly eval_prompt_taxonomy?: string;
}

const CAPTION_ORDER: readonly PromptKind[] = ['sc', 'ssc', 'ic'];

/** The paper's table row of a caption combination. */
export function contrastiveMethod(captions: readonly PromptKind[]): string {
  const key = CAPTION_ORDER.filter((k) => captions.includes(k)).join('_');
  if (key === 'sc_ssc_ic') return 'clipe_contrastive';
  if (['sc', 'ic', 'sc_ic', 'sc_ssc'].includes(key)) return `clipe_contrastive_${key}`;
  throw new StageError(`train/contrastive: captions [${captions.join(', ')}] is not one of the paper's combinations`, 'Use [sc, ssc, ic], [sc], [ic], [sc, ic] or [sc, ssc].');
}

export default defineStage<ContrastiveParams>({
  kind: 'train/contrastive',
  version: '5',
  // Training holds its thread for the whole stage (onnxruntime's session.run is synchronous): in a worker
  // thread two trainings use two cores, and their data and garbage stay out of the engine's heap.
  isolation: { module: import.meta.url },
  description: 'CLIP-E contrastive head on onnxruntime (soft-target or CLIP loss), with per-epoch evaluation from prompts',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['embeddings', 'index', 'manifest', 'prompts'],
    properties: {
      ...commonTrainProperties(8, 'sum'),
      prompts: {
        type: 'object',
        additionalProperties: false,
        required: ['prompts', 'embeddings', 'index'],
        properties: {
          prompts: { type: 'string', format: 'path', description: 'prompts.jsonl (sc, ssc, ic rows)' },
          embeddings: { type: 'string', format: 'path', description: 'their text embeddings.npy' },
          index: { type: 'string', format: 'path', description: 'its index.jsonl (ids = prompt ids)' },
        },
      },
      captions: { type: 'array', items: { enum: ['sc', 'ssc', 'ic'] }, minItems: 1, uniqueItems: true, default: ['sc', 'ssc', 'ic'] },
      loss: { enum: ['soft', 'hard'], default: 'soft', description: "soft: the authors' targets softmax((TTᵀ+IIᵀ)/2τ); hard: CLIP InfoNCE" },
      tau: { type: 'number', exclusiveMinimum: 0, default: 0.075 },
      eval_prompts: { enum: [...PROMPT_SOURCES], default: 'paper', description: "prompts that stand for an evaluated taxonomy's classes (paper: sc + ssc of the training taxonomy, mapped up its hierarchy; docs/heads.md)" },
      extra_eval_prompts: { type: 'array', items: { enum: [...PROMPT_SOURCES] }, uniqueItems: true, default: [], description: 'further protocols, written as extra rows tagged variant: prompts=<source> (the tables label them)' },
      eval_prompt_taxonomy: { type: 'string', description: 'source taxonomy of eval_prompts paper and mapped (default: the training taxonomy)' },
    },
  },
  outputs: TRAIN_OUTPUTS,
  resources: (p) => ({ cpu: p.threads, gpu: p.execution_provider === 'cuda' ? 1 : 0, memoryMb: 3000 }),
  fingerprint: trainFingerprint,
  async run(ctx) {
    await runTraining(await contrastiveJob(ctx));
  },
  // The seeds of a sweep (and any heads that differ only in params that do not change the graph) train
  // together: one set of sessions, inputs and evaluation passes (docs/heads.md).
  runGroup: (ctxs) => runJobs(ctxs, contrastiveJob),
});

/**
 * The prompt table (training pairs) and its scoring prompts (the per-epoch evaluation), each loaded once
 * per call. A function of its own, not closures in `contrastiveJob`: a closure there would share the
 * context of its `variants`, which lives as long as the training, and keep the whole table (267k rows at
 * full size) in the stage's heap; the job keeps only `scoring`.
 */
function promptTables(shared: SharedInputs, files: PromptFiles, mod: typeof import('../../src/eval/prompts.js')): { prompts: PromptTable; scoring: PromptTable } {
  const prompts = shared.get(['prompts', files], () => mod.loadPromptTable(files));
  return { prompts, scoring: shared.get(['scoring prompts', files], () => mod.scoringPrompts(prompts)) };
}

/** One instance's training job: its data, pairs, prompts and evaluation protocols. */
async function contrastiveJob(ctx: StageContext<ContrastiveParams>, shared = new SharedInputs()): Promise<TrainingJob> {
  const p = ctx.params;
  const method = contrastiveMethod(p.captions);
  const ort = await import('onnxruntime-node');
  const promptsModule = await import('../../src/eval/prompts.js');
  const { contrastiveHeadScorers } = await import('../../src/eval/scorers.js');
  const { contrastiveTask } = await import('../../src/train/contrastive.js');
  const data = loadTrainingData(p, (l) => ctx.log(l), shared);
  const { prompts, scoring } = promptTables(shared, p.prompts, promptsModule);
  const captions = CAPTION_ORDER.filter((k) => p.captions.includes(k));
  const tags = { loss: p.loss, reduction: p.reduction, captions: captions.join('+') };
  const task = contrastiveTask({
    images: data.table, train: data.train, val: data.val, taxonomy: data.taxonomy, prompts, captions, loss: p.loss, tau: p.tau, hidden: p.hidden, seed: p.seed,
    training: { seed: p.seed, loss: p.loss, tau: p.tau, reduction: p.reduction, captions, batch_size: p.batch_size, lr: p.lr },
  });
  const choices = [p.eval_prompts, ...p.extra_eval_prompts.filter((s) => s !== p.eval_prompts)].map((source) => ({ source, taxonomy: p.eval_prompt_taxonomy ?? p.taxonomy }));
  // Missing evaluation prompts fail now, not after the first epoch's training.
  for (const choice of choices) for (const set of p.eval_sets) for (const t of set.taxonomies) promptsModule.classPrompts(scoring, ingestTaxonomy(t, p), choice);
  // The main protocol's rows are the method's; every other protocol's rows are labelled as a variant.
  const variantTags = choices.map((c, i): Record<string, string> => (i === 0 ? {} : { variant: `prompts=${c.source}` }));
  return {
    ctx, task, method, tags,
    variants: (head, outputs) => contrastiveHeadScorers(ort, head, scoring, choices, p.threads, outputs).map((scorer, i) => ({ scorer, tags: variantTags[i] })),
  };
}
