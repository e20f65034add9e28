// The training loop shared by both heads: mini-batches through an onnxruntime step graph (forward, loss,
// gradients), the Adam update as a fused typed-array loop, validation loss, the plateau schedule, early
// stopping, a head checkpoint per epoch and an atomic resume checkpoint per epoch.
//
// Per step: the batch is copied into two reused buffers that back reused ort.Tensors (as do the weights,
// which Adam updates in place), so a step allocates nothing on the JS side but the gradient outputs.
import { cpSync, existsSync } from 'node:fs';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import type { MetricRow } from '../stage-api.js';
import { StageError } from '../stage-api.js';
import { Adam, KERAS_ADAM, type AdamConfig } from './adam.js';
import { epochDir, loadHead, loadResume, resumeEpochs, saveHead, saveResume, weightShapes, type Head, type HeadMeta } from './checkpoint.js';
import { GRAD_NAMES, WEIGHT_NAMES } from './head-spec.js';
import { glorotUniform, Rng } from './rng.js';
import { afterEpoch, initialSchedule, type EarlyStopConfig, type PlateauConfig, type ScheduleState } from './schedule.js';

/** One epoch's (image row, target row) pairs, in the order they are fed. */
export interface Examples {
  readonly xRows: Uint32Array;
  readonly targetRows: Uint32Array;
}

/** A row table: [rows, dim] float32. */
export interface Table {
  readonly data: Float32Array;
  readonly dim: number;
}

/** What a head contributes to the loop: its data, its pairing of examples and its step graph. */
export interface TrainTask {
  /** Head metadata except the epoch (filled in per checkpoint). */
  readonly meta: Omit<HeadMeta, 'epoch'>;
  readonly images: Table;
  /** Rows fed as the second graph input: one-hot class rows (CE) or normalised text embeddings. */
  readonly targets: Table;
  /** Name of that input in the step graph: `y` (CE) or `t` (contrastive). */
  readonly targetInput: 'y' | 't';
  /** Training pairs of epoch `epoch` (1-based), shuffled; a pure function of (seed, epoch). */
  epochExamples(epoch: number): Examples;
  readonly val: Examples;
  /** ONNX bytes of the step graph, with or without gradient outputs. */
  stepGraph(gradients: boolean): Uint8Array;
}

export interface TrainOptions {
  readonly seed: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly lr: number;
  /** `sum`: gradient of the summed per-sample losses (Keras custom train_step); `mean`: of their mean. */
  readonly reduction: 'sum' | 'mean';
  readonly plateau: PlateauConfig;
  readonly earlyStopping: EarlyStopConfig;
  readonly adam?: AdamConfig;
  /** Which epoch's weights become the final head: the early-stopping selection or the last one run. */
  readonly headEpoch: 'best' | 'last';
  /** Start from these weights (W1, b1, W2, b2) instead of the seeded Glorot initialisation. */
  readonly init?: readonly Float32Array[];
  /** onnxruntime intra-op threads and execution providers (`cpu`, `cuda`). */
  readonly threads?: number;
  readonly executionProviders?: readonly string[];
}

export interface EpochReport {
  readonly epoch: number;
  /** Mean per-sample loss over the epoch's training pairs, as the weights changed. */
  readonly trainLoss: number;
  readonly valLoss: number;
  /** Learning rate used during this epoch. */
  readonly lr: number;
  readonly lrReduced: boolean;
  readonly steps: number;
}

interface LoopState {
  schedule: ScheduleState;
  history: EpochReport[];
  /** Rows returned by `onEpoch`, kept so that a resumed run emits every epoch's rows. */
  rows: MetricRow[];
}

export interface TrainHooks {
  /** Per-epoch head checkpoints go to `<checkpointsDir>/epoch-NNN/`. */
  readonly checkpointsDir: string;
  /** Resume checkpoints (weights, Adam moments, loop state); omit to train without resuming. */
  readonly resumeDir?: string;
  readonly signal?: AbortSignal;
  /** Evaluation after each epoch; the rows are returned again in `TrainResult.rows` (also after a resume). */
  onEpoch?(epoch: number, head: Head): Promise<MetricRow[]>;
  log?(line: string): void;
  progress?(done: number, total: number): void;
}

export interface TrainResult {
  readonly history: readonly EpochReport[];
  readonly bestEpoch: number;
  /** Last epoch run; < `epochs` when early stopping ended the run. */
  readonly lastEpoch: number;
  readonly stoppedEarly: boolean;
  readonly resumedFrom: number | null;
  readonly head: Head;
  readonly rows: readonly MetricRow[];
}

export function initialWeights(meta: Omit<HeadMeta, 'epoch'>, seed: number): Float32Array[] {
  const rng = new Rng(seed, 'init');
  const { inputDim, hidden, outputDim } = meta.dims;
  return [glorotUniform(rng, inputDim, hidden), new Float32Array(hidden), glorotUniform(rng, hidden, outputDim), new Float32Array(outputDim)];
}

type Ort = typeof import('onnxruntime-node');

/** Runs the step graph over `ex` in batches; calls `each` with the batch's summed loss and the outputs. */
class BatchRunner {
  private readonly x: Float32Array;
  private readonly t: Float32Array;
  private readonly full: { x: Tensor; t: Tensor; scale: Tensor };
  private readonly weightFeeds: Record<string, Tensor>;

  constructor(
    private readonly ort: Ort,
    private readonly task: TrainTask,
    private readonly batch: number,
    private readonly reduction: 'sum' | 'mean',
    weights: readonly Float32Array[],
  ) {
    this.x = new Float32Array(batch * task.images.dim);
    this.t = new Float32Array(batch * task.targets.dim);
    this.full = this.tensors(batch);
    const shapes = weightShapes(task.meta.dims);
    this.weightFeeds = Object.fromEntries(WEIGHT_NAMES.map((n, k) => [n, new ort.Tensor('float32', weights[k], shapes[k])]));
  }

  private tensors(b: number): { x: Tensor; t: Tensor; scale: Tensor } {
    const { images, targets } = this.task;
    return {
      x: new this.ort.Tensor('float32', this.x.subarray(0, b * images.dim), [b, images.dim]),
      t: new this.ort.Tensor('float32', this.t.subarray(0, b * targets.dim), [b, targets.dim]),
      scale: new this.ort.Tensor('float32', Float32Array.of(this.reduction === 'mean' ? 1 / b : 1), []),
    };
  }

  async run(session: InferenceSession, ex: Examples, signal: AbortSignal | undefined, each: (batchLossSum: number, out: InferenceSession.ReturnType) => void): Promise<number> {
    const { images, targets, targetInput } = this.task;
    const n = ex.xRows.length;
    let total = 0;
    for (let start = 0; start < n; start += this.batch) {
      if (signal?.aborted) throw new StageError('training cancelled');
      const b = Math.min(this.batch, n - start);
      for (let i = 0; i < b; i++) {
        const xr = ex.xRows[start + i];
        const tr = ex.targetRows[start + i];
        this.x.set(images.data.subarray(xr * images.dim, (xr + 1) * images.dim), i * images.dim);
        this.t.set(targets.data.subarray(tr * targets.dim, (tr + 1) * targets.dim), i * targets.dim);
      }
      const f = b === this.batch ? this.full : this.tensors(b);
      const out = await session.run({ x: f.x, [targetInput]: f.t, scale: f.scale, ...this.weightFeeds });
      const loss = (out.loss.data as Float32Array)[0];
      const sum = this.reduction === 'mean' ? loss * b : loss;
      total += sum;
      each(sum, out);
    }
    return total / n;
  }
}

export async function train(task: TrainTask, opts: TrainOptions, hooks: TrainHooks): Promise<TrainResult> {
  const ort = await import('onnxruntime-node');
  const sessionOptions: InferenceSession.SessionOptions = {
    executionProviders: [...(opts.executionProviders ?? ['cpu'])],
    intraOpNumThreads: opts.threads ?? 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  };
  const stepSession = await ort.InferenceSession.create(task.stepGraph(true), sessionOptions);
  const lossSession = await ort.InferenceSession.create(task.stepGraph(false), sessionOptions);
  const log = hooks.log ?? (() => {});

  let weights = opts.init ? opts.init.map((w) => Float32Array.from(w)) : initialWeights(task.meta, opts.seed);
  const adam = new Adam(weights.map((w) => w.length), opts.adam ?? KERAS_ADAM);
  let state: LoopState = { schedule: initialSchedule(opts.lr), history: [], rows: [] };
  let resumedFrom: number | null = null;

  const done = hooks.resumeDir ? resumeEpochs(hooks.resumeDir) : [];
  if (hooks.resumeDir && done.length > 0) {
    const last = done[done.length - 1];
    const r = loadResume<LoopState>(hooks.resumeDir, last);
    weights = r.head.weights.map((w) => Float32Array.from(w));
    r.m.forEach((m, k) => adam.m[k].set(m));
    r.v.forEach((v, k) => adam.v[k].set(v));
    adam.step = r.resume.adamStep;
    state = r.resume.state;
    resumedFrom = last;
    // Head checkpoints of the epochs before the interruption live on in the resume directory.
    for (const e of done) {
      const target = epochDir(hooks.checkpointsDir, e);
      if (!existsSync(target)) cpSync(epochDir(hooks.resumeDir, e), target, { recursive: true, filter: (src) => !/[/\\](m_|v_|state\.json)[^/\\]*$/.test(src) });
    }
    log(`resumed after epoch ${last} (${adam.step} steps)`);
  }

  const runner = new BatchRunner(ort, task, opts.batchSize, opts.reduction, weights);
  const headAt = (epoch: number): Head => ({ meta: { ...task.meta, epoch }, weights });

  for (let epoch = state.history.length + 1; epoch <= opts.epochs && !state.schedule.stopped; epoch++) {
    const lr = state.schedule.lr;
    const examples = task.epochExamples(epoch);
    let steps = 0;
    const grads: Float32Array[] = new Array<Float32Array>(GRAD_NAMES.length);
    const trainLoss = await runner.run(stepSession, examples, hooks.signal, (_sum, out) => {
      for (let k = 0; k < GRAD_NAMES.length; k++) grads[k] = out[GRAD_NAMES[k]].data as Float32Array;
      adam.update(weights, grads, lr);
      steps++;
      if (steps % 256 === 0) hooks.progress?.(epoch - 1 + (steps * opts.batchSize) / examples.xRows.length, opts.epochs);
    });
    const valLoss = await runner.run(lossSession, task.val, hooks.signal, () => {});
    const decision = afterEpoch(state.schedule, epoch, valLoss, opts.plateau, opts.earlyStopping);
    state.history.push({ epoch, trainLoss, valLoss, lr, lrReduced: decision.lrReduced, steps });
    log(`epoch ${epoch}: train_loss ${trainLoss.toFixed(5)} val_loss ${valLoss.toFixed(5)} lr ${lr}${decision.lrReduced ? ` -> ${state.schedule.lr}` : ''}${decision.stop ? ' (early stop)' : ''}`);

    const head = headAt(epoch);
    saveHead(epochDir(hooks.checkpointsDir, epoch), head);
    if (hooks.onEpoch) state.rows.push(...(await hooks.onEpoch(epoch, head)));
    if (hooks.resumeDir) saveResume(hooks.resumeDir, head, adam.m, adam.v, { epoch, adamStep: adam.step, state });
    hooks.progress?.(epoch, opts.epochs);
  }
  await stepSession.release();
  await lossSession.release();

  const lastEpoch = state.history.length;
  const bestEpoch = state.schedule.bestEpoch;
  const chosen = opts.headEpoch === 'best' ? bestEpoch : lastEpoch;
  return {
    history: state.history,
    bestEpoch,
    lastEpoch,
    stoppedEarly: state.schedule.stopped,
    resumedFrom,
    head: chosen === lastEpoch ? headAt(lastEpoch) : loadHead(epochDir(hooks.checkpointsDir, chosen)),
    rows: state.rows,
  };
}
