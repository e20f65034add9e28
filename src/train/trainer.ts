// The training loop shared by both heads: mini-batches through onnxruntime (forward, loss, gradients,
// Adam), validation loss, the plateau schedule, early stopping, a head checkpoint per epoch and an
// atomic resume checkpoint per epoch.
//
// Two execution paths with the same float32 arithmetic. By default (`stepsPerRun: 1`) every batch is one
// session.run of the single-step graph whose gradients land, as pre-allocated outputs, in the wasm
// memory where the SIMD Adam (adam.ts) updates weights and moments in place: nothing is copied or
// allocated per step. With `stepsPerRun` K > 1, K full batches go through one session.run of an ONNX
// Loop (weights and moments loop-carried, Adam as ONNX ops): 1.4-2.8× slower on CPU (bench/train.ts,
// BENCHMARKS.md), kept for execution providers where a round trip to the host per step costs more than
// unfused elementwise kernels (cuda; not measured here). A trailing partial batch always takes the
// single-step path.
import type { StudyMetric } from '../formats.js';
import { cpSync, existsSync, rmSync } from 'node:fs';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { StageError } from '../stage-api.js';
import { Adam, KERAS_ADAM, type AdamConfig } from './adam.js';
import { epochDir, loadHead, loadResume, resumeEpochs, saveHead, saveResume, weightShapes, type Head, type HeadMeta, type LoadedResume } from './checkpoint.js';
import type { StepBuilder } from './graphs.js';
import { GRAD_NAMES, WEIGHT_NAMES } from './head-spec.js';
import { ortSessionOptions } from './ort-options.js';
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
  /** Builds the head's forward + loss (+ gradients) into a graph (see graphs.ts). */
  readonly step: StepBuilder;
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
  /** Full batches per session.run: 1 (default) = one step per run with the wasm Adam; K > 1 = an ONNX Loop. */
  readonly stepsPerRun?: number;
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
  rows: StudyMetric[];
}

export interface TrainHooks {
  /** Per-epoch head checkpoints go to `<checkpointsDir>/epoch-NNN/`. */
  readonly checkpointsDir: string;
  /** Resume checkpoints (weights, Adam moments, loop state); omit to train without resuming. */
  readonly resumeDir?: string;
  readonly signal?: AbortSignal;
  /** Evaluation after each epoch; the rows are returned again in `TrainResult.rows` (also after a resume). */
  onEpoch?(epoch: number, head: Head): Promise<StudyMetric[]>;
  log?(line: string): void;
  /** Epochs done so far (fractional within an epoch) out of the maximum. */
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
  readonly rows: readonly StudyMetric[];
}

export function initialWeights(meta: Omit<HeadMeta, 'epoch'>, seed: number): Float32Array[] {
  const rng = new Rng(seed, 'init');
  const { inputDim, hidden, outputDim } = meta.dims;
  return [glorotUniform(rng, inputDim, hidden), new Float32Array(hidden), glorotUniform(rng, hidden, outputDim), new Float32Array(outputDim)];
}

type Ort = typeof import('onnxruntime-node');

/**
 * The last resume checkpoint, or null (after clearing the directory) when it cannot be read — e.g. written
 * by another version: the stage then reruns from epoch 1 instead of failing or mixing states.
 */
function tryLoadResume(root: string, done: readonly number[], log: (line: string) => void): LoadedResume<LoopState> | null {
  try {
    return loadResume<LoopState>(root, done[done.length - 1]);
  } catch (e) {
    log(`resume checkpoint unreadable (${(e as Error).message}); training from epoch 1`);
    for (const epoch of done) rmSync(epochDir(root, epoch), { recursive: true, force: true });
    return null;
  }
}

/** Feeds batches of `task` to the step, loop and loss sessions; buffers, tensors and fetches are reused. */
class BatchRunner {
  private readonly x: Float32Array;
  private readonly t: Float32Array;
  private readonly stateFeeds: Record<string, Tensor>;
  private readonly stateArrays: readonly Float32Array[];
  /** The single step's outputs, pre-allocated: the loss, and the gradients straight into Adam's memory. */
  private readonly loss1 = new Float32Array(1);
  private readonly stepFetches: Record<string, Tensor>;
  private readonly scales = new Map<number, Tensor>();
  /** Tensors over the batch buffers, by row count (a full batch, a Loop's K batches, the last batch). */
  private readonly batchTensors = new Map<number, { x: Tensor; t: Tensor }>();

  constructor(
    private readonly ort: Ort,
    private readonly task: TrainTask,
    private readonly batch: number,
    private readonly k: number,
    private readonly reduction: 'sum' | 'mean',
    private readonly adam: Adam,
    private readonly momentNames: readonly string[],
  ) {
    this.x = new Float32Array(k * batch * task.images.dim);
    this.t = new Float32Array(k * batch * task.targets.dim);
    const shapes = weightShapes(task.meta.dims);
    this.stateArrays = [...adam.w, ...adam.m, ...adam.v];
    const names = [...WEIGHT_NAMES, ...momentNames];
    this.stateFeeds = Object.fromEntries(names.map((n, j) => [n, new ort.Tensor('float32', this.stateArrays[j], shapes[j % 4])]));
    this.stepFetches = {
      loss: new ort.Tensor('float32', this.loss1, []),
      ...Object.fromEntries(GRAD_NAMES.map((n, j) => [n, new ort.Tensor('float32', adam.g[j], shapes[j])])),
    };
  }

  /** Copies `rows` examples from `start` into the batch buffers. */
  private fill(ex: Examples, start: number, rows: number): { x: Tensor; t: Tensor } {
    const { images, targets } = this.task;
    for (let i = 0; i < rows; i++) {
      const xr = ex.xRows[start + i];
      const tr = ex.targetRows[start + i];
      this.x.set(images.data.subarray(xr * images.dim, (xr + 1) * images.dim), i * images.dim);
      this.t.set(targets.data.subarray(tr * targets.dim, (tr + 1) * targets.dim), i * targets.dim);
    }
    let tensors = this.batchTensors.get(rows);
    if (!tensors) {
      tensors = {
        x: new this.ort.Tensor('float32', this.x.subarray(0, rows * images.dim), [rows, images.dim]),
        t: new this.ort.Tensor('float32', this.t.subarray(0, rows * targets.dim), [rows, targets.dim]),
      };
      this.batchTensors.set(rows, tensors);
    }
    return tensors;
  }

  /** The `scale` feed of a batch of `b` rows. */
  private scale(b: number): Tensor {
    const value = this.reduction === 'mean' ? 1 / b : 1;
    let s = this.scales.get(value);
    if (!s) this.scales.set(value, (s = new this.ort.Tensor('float32', Float32Array.of(value), [])));
    return s;
  }

  private weightFeeds(): Record<string, Tensor> {
    return Object.fromEntries(WEIGHT_NAMES.map((n) => [n, this.stateFeeds[n]]));
  }

  /** Mean per-sample loss of `ex` without training. */
  async loss(session: InferenceSession, ex: Examples, signal: AbortSignal | undefined): Promise<number> {
    let total = 0;
    const unit = new this.ort.Tensor('float32', Float32Array.of(1), []);
    for (let start = 0; start < ex.xRows.length; start += this.batch) {
      if (signal?.aborted) throw new StageError('training cancelled');
      const b = Math.min(this.batch, ex.xRows.length - start);
      const f = this.fill(ex, start, b);
      const out = await session.run({ x: f.x, [this.task.targetInput]: f.t, scale: unit, ...this.weightFeeds() });
      total += (out.loss.data as Float32Array)[0];
    }
    return total / ex.xRows.length;
  }

  /** One epoch of training; returns the mean per-sample loss and the number of steps. */
  async train(sessions: { step: InferenceSession; loop: InferenceSession | null }, ex: Examples, lr: number, signal: AbortSignal | undefined, onFraction?: (f: number) => void): Promise<{ loss: number; steps: number }> {
    const n = ex.xRows.length;
    const { beta1, beta2 } = this.adam.config;
    const toSum = (loss: number, b: number): number => (this.reduction === 'mean' ? loss * b : loss);
    let total = 0;
    let steps = 0;
    let start = 0;
    const full = Math.floor(n / this.batch);
    if (sessions.loop) {
      const scale = this.scale(this.batch);
      while (steps < full) {
        if (signal?.aborted) throw new StageError('training cancelled');
        const k = Math.min(this.k, full - steps);
        const f = this.fill(ex, start, k * this.batch);
        const alphas = new Float32Array(k);
        for (let j = 0; j < k; j++) {
          const t = this.adam.step + j + 1;
          alphas[j] = (lr * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t);
        }
        const out = await sessions.loop.run({
          X: f.x, T: f.t, scale, ...this.stateFeeds,
          steps: new this.ort.Tensor('int64', BigInt64Array.of(BigInt(k)), []),
          alphas: new this.ort.Tensor('float32', alphas, [k]),
        });
        [...WEIGHT_NAMES, ...this.momentNames].forEach((name, j) => this.stateArrays[j].set(out[`${name}_out`].data as Float32Array));
        for (const l of out.losses.data as Float32Array) total += toSum(l, this.batch);
        this.adam.step += k;
        steps += k;
        start += k * this.batch;
        if (steps % (8 * this.k) < k) onFraction?.(start / n);
      }
    }
    const weights = this.weightFeeds();
    for (; start < n; start += this.batch) {
      if (signal?.aborted) throw new StageError('training cancelled');
      const b = Math.min(this.batch, n - start);
      const f = this.fill(ex, start, b);
      await sessions.step.run({ x: f.x, [this.task.targetInput]: f.t, scale: this.scale(b), ...weights }, this.stepFetches);
      total += toSum(this.loss1[0], b);
      this.adam.update(lr);
      steps++;
      if (steps % 256 === 0) onFraction?.(start / n);
    }
    return { loss: total / n, steps };
  }
}

export async function train(task: TrainTask, opts: TrainOptions, hooks: TrainHooks): Promise<TrainResult> {
  const ort = await import('onnxruntime-node');
  const graphs = await import('./graphs.js');
  const sessionOptions = ortSessionOptions(opts.threads ?? 1, opts.executionProviders ?? ['cpu']);
  const { dims } = task.meta;
  const k = opts.stepsPerRun ?? 1;
  const adamConfig = opts.adam ?? KERAS_ADAM;
  const sessions = {
    step: await ort.InferenceSession.create(graphs.stepGraph(task.step, task.targetInput, dims, true), sessionOptions),
    loop: k > 1 ? await ort.InferenceSession.create(graphs.loopGraph(task.step, task.targetInput, dims, opts.batchSize, adamConfig), sessionOptions) : null,
  };
  const lossSession = await ort.InferenceSession.create(graphs.stepGraph(task.step, task.targetInput, dims, false), sessionOptions);
  const log = hooks.log ?? (() => {});

  const init = opts.init ?? initialWeights(task.meta, opts.seed);
  const adam = new Adam(init.map((w) => w.length), adamConfig);
  const weights = adam.w;
  init.forEach((w, k) => weights[k].set(w));
  let state: LoopState = { schedule: initialSchedule(opts.lr), history: [], rows: [] };
  let resumedFrom: number | null = null;

  const done = hooks.resumeDir ? resumeEpochs(hooks.resumeDir) : [];
  const resumed = hooks.resumeDir && done.length > 0 ? tryLoadResume(hooks.resumeDir, done, log) : null;
  if (hooks.resumeDir && resumed) {
    const last = done[done.length - 1];
    resumed.head.weights.forEach((w, k) => weights[k].set(w));
    resumed.m.forEach((m, k) => adam.m[k].set(m));
    resumed.v.forEach((v, k) => adam.v[k].set(v));
    adam.step = resumed.resume.adamStep;
    state = resumed.resume.state;
    resumedFrom = last;
    // Head checkpoints of the epochs before the interruption live on in the resume directory.
    for (const e of done) {
      const target = epochDir(hooks.checkpointsDir, e);
      if (!existsSync(target)) cpSync(epochDir(hooks.resumeDir, e), target, { recursive: true, filter: (src) => !/[/\\](m_|v_|state\.json)[^/\\]*$/.test(src) });
    }
    log(`resumed after epoch ${last} (${adam.step} steps)`);
  }

  const runner = new BatchRunner(ort, task, opts.batchSize, k, opts.reduction, adam, graphs.MOMENT_NAMES);
  const headAt = (epoch: number): Head => ({ meta: { ...task.meta, epoch }, weights });

  try {
    for (let epoch = state.history.length + 1; epoch <= opts.epochs && !state.schedule.stopped; epoch++) {
      const lr = state.schedule.lr;
      const examples = task.epochExamples(epoch);
      const { loss: trainLoss, steps } = await runner.train(sessions, examples, lr, hooks.signal, (f) => hooks.progress?.(epoch - 1 + f, opts.epochs));
      const valLoss = await runner.loss(lossSession, task.val, hooks.signal);
      const decision = afterEpoch(state.schedule, epoch, valLoss, opts.plateau, opts.earlyStopping);
      state.history.push({ epoch, trainLoss, valLoss, lr, lrReduced: decision.lrReduced, steps });
      log(`epoch ${epoch}: train_loss ${trainLoss.toFixed(5)} val_loss ${valLoss.toFixed(5)} lr ${lr}${decision.lrReduced ? ` -> ${state.schedule.lr}` : ''}${decision.stop ? ' (early stop)' : ''}`);

      const head = headAt(epoch);
      saveHead(epochDir(hooks.checkpointsDir, epoch), head);
      if (hooks.onEpoch) state.rows.push(...(await hooks.onEpoch(epoch, head)));
      if (hooks.resumeDir) saveResume(hooks.resumeDir, head, adam.m, adam.v, { epoch, adamStep: adam.step, state });
      hooks.progress?.(epoch, opts.epochs);
    }
  } finally {
    await sessions.step.release();
    await sessions.loop?.release();
    await lossSession.release();
  }

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
