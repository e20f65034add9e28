// `train/cross-entropy`: the CLIP-E CE head (Dense(512, relu) -> Dense(C) softmax, or the authors' binary
// one-unit sigmoid) on frozen CLIP image embeddings, evaluated on every `eval_sets` entry after every
// epoch. Cells whose classes the head cannot predict are recorded as not computable. See docs/heads.md.
import { defineStage } from '../../src/stage-api.js';
import { taxonomyDirsOf } from '../../src/data/ingest-stage.js';
import type { StageContext } from '../../src/stage-api.js';
import { commonTrainProperties, loadTrainingData, runJobs, runTraining, SharedInputs, trainFingerprint, TRAIN_OUTPUTS, type CommonTrainParams, type TrainingJob } from '../../src/train/stage.js';

export interface CrossEntropyParams extends CommonTrainParams {
  readonly output: 'softmax' | 'sigmoid';
}

export default defineStage<CrossEntropyParams>({
  kind: 'train/cross-entropy',
  version: '5',
  // Training holds its thread for the whole stage (onnxruntime's session.run is synchronous): in a worker
  // thread two trainings use two cores, and their data and garbage stay out of the engine's heap.
  isolation: { module: import.meta.url },
  description: 'CLIP-E cross-entropy head on onnxruntime, with per-epoch cross-dataset evaluation',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['embeddings', 'index', 'manifest'],
    properties: {
      ...commonTrainProperties(32, 'mean'),
      output: { enum: ['softmax', 'sigmoid'], default: 'softmax', description: 'sigmoid: the authors\' 1-unit binary head (2-class taxonomies)' },
    },
  },
  outputs: TRAIN_OUTPUTS,
  resources: (p) => ({ cpu: p.threads, gpu: p.execution_provider === 'cuda' ? 1 : 0, memoryMb: 3000 }),
  fingerprint: trainFingerprint,
  async run(ctx) {
    await runTraining(await crossEntropyJob(ctx));
  },
  // The seeds of a sweep train together: one set of sessions, inputs and evaluation passes (docs/heads.md).
  runGroup: (ctxs) => runJobs(ctxs, crossEntropyJob),
});

/** One instance's training job; `shared`: the inputs already loaded for the other members of its group. */
async function crossEntropyJob(ctx: StageContext<CrossEntropyParams>, shared = new SharedInputs()): Promise<TrainingJob> {
  const p = ctx.params;
  const ort = await import('onnxruntime-node');
  const { ceHeadScorer } = await import('../../src/eval/scorers.js');
  const { crossEntropyTask } = await import('../../src/train/cross-entropy.js');
  const data = loadTrainingData(p, (l) => ctx.log(l), shared);
  const tags = { head: p.output, reduction: p.reduction };
  const task = crossEntropyTask({
    images: data.table, train: data.train, val: data.val, taxonomy: data.taxonomy, output: p.output, hidden: p.hidden, seed: p.seed,
    training: { seed: p.seed, reduction: p.reduction, batch_size: p.batch_size, lr: p.lr },
  });
  return { ctx, task, method: 'clipe_cross_entropy', tags, variants: (head, outputs) => [{ scorer: ceHeadScorer(ort, head, p.threads, taxonomyDirsOf(p), outputs), tags: {} }] };
}
