// What the two training stages share: their common params (schema + defaults), loading the training
// data, the per-epoch evaluation hook, and writing loss/lr/early-stopping rows and the final head; for
// one instance (`runTraining`, a kind's `run`) or several trained together (`runTrainingGroup`, a kind's
// `runGroup`: the instances of a `group_by` group, e.g. the seeds of a sweep).
import { createRequire } from 'node:module';
import { toMetricRow, type StudyMetric } from '../formats.js';
import { GroupFailure, type JsonSchema, type StageContext } from '../stage-api.js';
import { loadTaxonomy, type Taxonomy } from '../data/taxonomy.js';
import { evalSetsFingerprint, TAXONOMY_DIR_PROPERTY, taxonomyDirsOf, taxonomyFingerprint } from '../data/ingest-stage.js';
import { evaluateVariants, prepareEvalSets, EVAL_SET_SCHEMA, type EvalSetSpec, type PreparedSet, type Variant } from '../eval/evaluate.js';
import type { HeadFeatures } from '../eval/scorers.js';
import { epochDir, loadHead, saveHead, type Head } from './checkpoint.js';
import { labelledSplit, loadEmbeddingTable, readManifest, type EmbeddingTable, type LabelledSplit } from './data.js';
import { groupKey, trainGroup, type GroupEvaluation, type GroupMember, type TrainOptions, type TrainResult, type TrainTask } from './trainer.js';

export interface CommonTrainParams {
  readonly embeddings: string;
  readonly index: string;
  readonly manifest: string;
  /** Dataset id of the training data, written into the loss rows. */
  readonly dataset: string;
  readonly taxonomy: string;
  readonly confusion: 'sadness' | 'own';
  /** A directory of extra taxonomy files (the training and evaluated taxonomies may be there). */
  readonly taxonomy_dir?: string;
  readonly seed: number;
  readonly epochs: number;
  readonly batch_size: number;
  readonly lr: number;
  readonly adam_epsilon: number;
  readonly reduction: 'sum' | 'mean';
  readonly hidden: number;
  readonly patience: number;
  readonly min_delta: number;
  readonly lr_factor: number;
  readonly lr_patience: number;
  readonly lr_min_delta: number;
  readonly min_lr: number;
  readonly head_epoch: 'best' | 'last';
  readonly train_split: string;
  readonly val_split: string;
  readonly eval_sets: readonly EvalSetSpec[];
  readonly threads: number;
  readonly steps_per_run: number;
  readonly execution_provider: 'cpu' | 'cuda';
}

/** Params of both heads; `batch` and `reduction` defaults differ per head (Keras fit vs custom train_step). */
export function commonTrainProperties(batch: number, reduction: 'sum' | 'mean'): Record<string, JsonSchema> {
  return {
    embeddings: { type: 'string', format: 'path', description: 'image embeddings.npy [N, 512] of the training dataset' },
    index: { type: 'string', format: 'path', description: 'its index.jsonl (id, row)' },
    manifest: { type: 'string', format: 'path', description: 'manifest.jsonl with train/val splits and labels' },
    dataset: { type: 'string', default: 'webemo' },
    taxonomy: { type: 'string', default: 'webemo25', description: 'training taxonomy (webemo2, webemo6, webemo25, ...)' },
    confusion: { enum: ['sadness', 'own'], default: 'sadness', description: "WEBEmo's 7th level-2 label" },
    taxonomy_dir: TAXONOMY_DIR_PROPERTY,
    seed: { type: 'integer', default: 0, description: 'fixes initialisation, shuffling and synonym draws' },
    epochs: { type: 'integer', minimum: 1, default: 15 },
    batch_size: { type: 'integer', minimum: 2, default: batch },
    lr: { type: 'number', exclusiveMinimum: 0, default: 1e-3 },
    adam_epsilon: { type: 'number', exclusiveMinimum: 0, default: 1e-7, description: 'Keras Adam epsilon' },
    reduction: { enum: ['sum', 'mean'], default: reduction, description: 'loss over a batch: sum or mean of per-sample losses' },
    hidden: { type: 'integer', minimum: 1, default: 512 },
    patience: { type: 'integer', minimum: 1, default: 3, description: 'early stopping: epochs without val-loss improvement' },
    min_delta: { type: 'number', minimum: 0, default: 0, description: 'early stopping: smallest improvement that counts' },
    lr_factor: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: 0.1, description: 'ReduceLROnPlateau factor' },
    lr_patience: { type: 'integer', minimum: 1, default: 1, description: 'ReduceLROnPlateau patience (epochs)' },
    lr_min_delta: { type: 'number', minimum: 0, default: 1e-4, description: 'ReduceLROnPlateau min_delta (Keras default)' },
    min_lr: { type: 'number', minimum: 0, default: 0 },
    head_epoch: { enum: ['best', 'last'], default: 'best', description: 'which epoch becomes the `head` output (`head-final` and `head-best` are always written)' },
    train_split: { type: 'string', default: 'train' },
    val_split: { type: 'string', default: 'val' },
    eval_sets: { type: 'array', items: EVAL_SET_SCHEMA, default: [], description: 'evaluated after every epoch' },
    threads: { type: 'integer', minimum: 1, default: 1, description: 'onnxruntime intra-op threads' },
    steps_per_run: { type: 'integer', minimum: 1, default: 1, description: 'optimiser steps per session.run: 1 = one step per run with the wasm SIMD Adam (fastest on CPU); K > 1 = an ONNX Loop of K steps with Adam in the graph (for cuda)' },
    execution_provider: { enum: ['cpu', 'cuda'], default: 'cpu' },
  };
}

export const TRAIN_OUTPUTS = {
  head: { path: 'head', description: 'the epoch head_epoch selects (default best): head.json + W1/b1/W2/b2.npy' },
  'head-final': { path: 'head-final', description: "the last epoch trained: the weights the paper's final-epoch tables show (Keras without restore_best_weights)" },
  'head-best': { path: 'head-best', description: 'the early-stopping selection (lowest validation loss)' },
  checkpoints: { path: 'checkpoints', description: 'every epoch: checkpoints/epoch-NNN/ (same layout as head)' },
} as const;

export interface TrainingData {
  readonly taxonomy: Taxonomy;
  readonly table: EmbeddingTable;
  readonly train: LabelledSplit;
  readonly val: LabelledSplit;
}

/**
 * Inputs loaded once per call and shared by the jobs of a group: the seeds of a sweep read the same
 * embeddings, manifest and prompts, and at the paper's size one copy of WEBEmo's embeddings is 547 MB (as
 * much again for its caption embeddings), so each member loading its own would multiply a stage's memory
 * by the group's size. Loaded tables are never modified.
 */
export class SharedInputs {
  private readonly loaded = new Map<string, unknown>();

  /** The value loaded for `key` (any JSON) by this call, loading it now if it is the first ask. */
  get<T>(key: unknown, load: () => T): T {
    const k = JSON.stringify(key);
    if (!this.loaded.has(k)) this.loaded.set(k, load());
    return this.loaded.get(k) as T;
  }
}

export function loadTrainingData(p: CommonTrainParams, log: (line: string) => void, shared = new SharedInputs()): TrainingData {
  const taxonomy = loadTaxonomy(p.taxonomy, { confusion: p.confusion, dirs: taxonomyDirsOf(p) });
  const table = shared.get(['embeddings', p.embeddings, p.index], () => loadEmbeddingTable(p.embeddings, p.index));
  const manifest = shared.get(['manifest', p.manifest], () => readManifest(p.manifest));
  const train = labelledSplit(p.manifest, manifest, table, taxonomy, p.train_split);
  const val = labelledSplit(p.manifest, manifest, table, taxonomy, p.val_split);
  // Images without an embedding (files the embedding stage could not read) are left out, and said so.
  if (train.missing + val.missing > 0) log(`${train.missing} train and ${val.missing} val images have no embedding and are left out`);
  return { taxonomy, table, train, val };
}

export async function trainFingerprint(p: CommonTrainParams): Promise<Record<string, string>> {
  // The version from package.json: importing onnxruntime itself here would slow every no-op `pipe run`.
  const { version } = createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string };
  const out = taxonomyFingerprint(loadTaxonomy(p.taxonomy, { confusion: p.confusion, dirs: taxonomyDirsOf(p) }));
  Object.assign(out, evalSetsFingerprint(p.eval_sets, p));
  return { ...out, onnxruntime: version, provider: p.execution_provider };
}

/**
 * Which weights an epoch's rows were computed with, as a tag: `final` (the last epoch trained, the
 * paper's "final epoch"), `best` (the lowest validation loss, the saved `head-best`), both, or neither.
 */
export function weightsTag(epoch: number, result: Pick<TrainResult, 'bestEpoch' | 'lastEpoch'>): string {
  const names = [epoch === result.lastEpoch && 'final', epoch === result.bestEpoch && 'best'].filter(Boolean);
  return names.length ? names.join('+') : 'intermediate';
}

/** One training stage instance: its context, its head's task, and how its rows are named and evaluated. */
export interface TrainingJob {
  readonly ctx: StageContext<CommonTrainParams>;
  readonly task: TrainTask;
  /** The method written into every metric row (`clipe_cross_entropy`, `clipe_contrastive_sc`, ...). */
  readonly method: string;
  readonly tags: Readonly<Record<string, string>>;
  /** The scorers of an epoch's head, reading its outputs on an evaluation set from `outputs`. */
  variants(head: Head, outputs: HeadFeatures): readonly Variant[];
}

function trainOptions(p: CommonTrainParams): TrainOptions {
  return {
    seed: p.seed,
    epochs: p.epochs,
    batchSize: p.batch_size,
    lr: p.lr,
    reduction: p.reduction,
    plateau: { factor: p.lr_factor, patience: p.lr_patience, minDelta: p.lr_min_delta, minLr: p.min_lr },
    earlyStopping: { patience: p.patience, minDelta: p.min_delta },
    adam: { beta1: 0.9, beta2: 0.999, epsilon: p.adam_epsilon },
    headEpoch: p.head_epoch,
    threads: p.threads,
    stepsPerRun: p.steps_per_run,
    executionProviders: [p.execution_provider],
  };
}

function memberOf(job: TrainingJob): GroupMember {
  const { ctx } = job;
  return {
    task: job.task,
    opts: trainOptions(ctx.params),
    hooks: {
      checkpointsDir: ctx.output('checkpoints'),
      resumeDir: ctx.resumeDir,
      signal: ctx.signal,
      log: (l) => ctx.log(l),
      progress: (done, total) => ctx.progress({ done, total, unit: 'epochs' }),
    },
  };
}

/** Evaluation sets, loaded once for every job with the same `eval_sets` and taxonomy settings. */
function evalSetsOf(jobs: readonly TrainingJob[]): PreparedSet[][] {
  const loaded = new Map<string, PreparedSet[]>();
  return jobs.map(({ ctx, method, task }) => {
    const p = ctx.params;
    const key = JSON.stringify([p.eval_sets, p.confusion, taxonomyDirsOf(p)]);
    let sets = loaded.get(key);
    if (!sets) loaded.set(key, (sets = prepareEvalSets(p.eval_sets, { confusion: p.confusion }, taxonomyDirsOf(p))));
    ctx.log(`${method}: ${p.taxonomy}, seed ${p.seed}, ${task.val.xRows.length} validation pairs, ${sets.length} evaluation set(s)${jobs.length > 1 ? `; trained with ${jobs.length - 1} other head(s)` : ''}`);
    for (const s of sets) if (s.missing > 0) ctx.log(`${s.spec.dataset}: ${s.missing} ${s.spec.split ?? 'test'} images have no embedding and are not evaluated`);
    return sets;
  });
}

/**
 * Per-epoch evaluation of a group: each head's variants over its sets, every head's outputs on a set
 * from one stacked forward pass (rows identical to evaluating each head alone).
 */
function groupEvaluation(jobs: readonly TrainingJob[], sets: readonly PreparedSet[][]): GroupEvaluation {
  return async (finished) => {
    const ort = await import('onnxruntime-node');
    const { groupHeadOutputs } = await import('../eval/scorers.js');
    const outputs = groupHeadOutputs(ort, finished.map((f) => f.head), jobs[0].ctx.params.threads);
    const rows: StudyMetric[][] = [];
    for (const [k, { member, epoch, head }] of finished.entries()) {
      const job = jobs[member];
      rows.push(await evaluateVariants(sets[member], job.variants(head, outputs[k]), { method: job.method, seed: job.ctx.params.seed, epoch, tags: job.tags }));
    }
    return rows;
  };
}

/**
 * Records a trained head's metric rows (per-epoch losses, lr, evaluation; selected and stopped epochs),
 * each with the `weights` it was computed with, and writes its heads (`head`, `head-final`, `head-best`).
 */
function recordResult(job: TrainingJob, result: TrainResult): void {
  const { ctx, method, tags } = job;
  const p = ctx.params;
  const weighted = (epoch: number | null): Readonly<Record<string, string>> => (epoch === null ? tags : { ...tags, weights: weightsTag(epoch, result) });
  const row = (metric: string, epoch: number | null, value: number | null, detail?: StudyMetric['detail']) =>
    toMetricRow({ method, dataset: p.dataset, taxonomy: p.taxonomy, seed: p.seed, epoch, metric, value, detail, tags: weighted(epoch) });
  for (const h of result.history) {
    ctx.metric(row('train_loss', h.epoch, finite(h.trainLoss)));
    ctx.metric(row('val_loss', h.epoch, finite(h.valLoss)));
    ctx.metric(row('lr', h.epoch, h.lr, { reduced_after: h.lrReduced, steps: h.steps }));
  }
  ctx.metric(row('selected_epoch', null, result.bestEpoch, { rule: 'lowest validation loss', head_epoch: p.head_epoch }));
  ctx.metric(row('stopped_epoch', null, result.lastEpoch, { reason: result.stoppedEarly ? 'early_stopping' : 'max_epochs', resumed_from: result.resumedFrom }));
  for (const r of result.rows) ctx.metric(toMetricRow({ ...r, tags: { ...r.tags, ...weighted(r.epoch) } }));
  saveHead(ctx.output('head'), result.head);
  saveHead(ctx.output('head-final'), loadHead(epochDir(ctx.output('checkpoints'), result.lastEpoch)));
  saveHead(ctx.output('head-best'), loadHead(epochDir(ctx.output('checkpoints'), result.bestEpoch)));
}

/**
 * What heads must share to train in one group: the graph and session configuration (trainer.ts
 * `groupKey`) and, as they are stacked in one session.run, the number of training pairs per epoch: an
 * ablation with other captions (3 vs 1 pairs per image) trains in its own group of the same call.
 */
const compatibility = (job: TrainingJob, member: GroupMember): string => `${groupKey(member)}|${job.task.epochExamples(1).xRows.length}`;

/**
 * Trains every job's head, evaluating `eval_sets` after every epoch, and records each one's rows and heads
 * in its own context — the same outputs as `runTraining` of each job alone. Jobs whose heads can step
 * together (`compatibility`) train as one group (trainGroup: one set of sessions, one forward pass per
 * evaluation set for all of them per epoch); the groups run one after the other.
 */
export async function runTrainingGroup(jobs: readonly TrainingJob[]): Promise<TrainResult[]> {
  const members = jobs.map(memberOf);
  const sets = evalSetsOf(jobs);
  const groups = new Map<string, number[]>();
  jobs.forEach((job, i) => {
    const key = compatibility(job, members[i]);
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  const results: TrainResult[] = new Array(jobs.length);
  for (const indices of groups.values()) {
    const pick = <T>(all: readonly T[]): T[] => indices.map((i) => all[i]);
    const trained = await trainGroup(pick(members), groupEvaluation(pick(jobs), pick(sets)));
    indices.forEach((i, k) => {
      recordResult(jobs[i], trained[k]);
      results[i] = trained[k];
    });
  }
  return results;
}

/** `runTrainingGroup` of one job. */
export async function runTraining(job: TrainingJob): Promise<TrainResult> {
  return (await runTrainingGroup([job]))[0];
}

/** A diverged loss (NaN/Infinity) is recorded as null: JSON has no NaN. */
const finite = (v: number): number | null => (Number.isFinite(v) ? v : null);

/**
 * A kind's `runGroup`: builds each member's job (a member whose inputs fail fails alone, as a
 * `GroupFailure` naming it, and the others still train) and trains the rest with `runTrainingGroup`.
 */
export async function runJobs<P extends CommonTrainParams>(ctxs: readonly StageContext<P>[], jobOf: (ctx: StageContext<P>, shared: SharedInputs) => Promise<TrainingJob>): Promise<void> {
  const { jobs, failed } = await buildJobs(ctxs, jobOf);
  if (jobs.length > 0) await runTrainingGroup(jobs);
  if (failed.size > 0) throw new GroupFailure(failed);
}

/**
 * Each member's job, with the inputs they share loaded once. The loaded inputs (manifest rows, prompt
 * rows, id indexes) are dropped when this returns: the jobs keep what training reads, and the rest would
 * sit in the heap that every full garbage collection of the training marks.
 */
async function buildJobs<P extends CommonTrainParams>(ctxs: readonly StageContext<P>[], jobOf: (ctx: StageContext<P>, shared: SharedInputs) => Promise<TrainingJob>): Promise<{ jobs: TrainingJob[]; failed: Map<string, Error> }> {
  const failed = new Map<string, Error>();
  const jobs: TrainingJob[] = [];
  const shared = new SharedInputs();
  for (const ctx of ctxs) {
    try {
      jobs.push(await jobOf(ctx, shared));
    } catch (e) {
      failed.set(ctx.instanceId, e as Error);
    }
  }
  return { jobs, failed };
}
