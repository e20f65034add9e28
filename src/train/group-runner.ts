// Feeds the batches of a group of heads (K ≥ 1, stacked on a leading axis) to the step, loop and loss
// sessions. The heads run in lock step: step s of an epoch takes rows sB..sB+B of EACH head's own
// examples (its own shuffle and draws), so their epochs must have the same number of pairs; everything
// else (learning rate, Adam step count, epoch) is per head. Buffers, tensors and fetches are reused:
// nothing is allocated per step.
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { StageError } from '../stage-api.js';
import type { Adam } from './adam.js';
import { stackedShapes } from './graphs.js';
import { GRAD_NAMES, WEIGHT_NAMES } from './head-spec.js';
import type { Examples, TrainTask } from './trainer.js';

type Ort = typeof import('onnxruntime-node');

export interface GroupSessions {
  readonly step: InferenceSession;
  readonly loop: InferenceSession | null;
  readonly loss: InferenceSession;
}

export interface EpochLosses {
  /** Mean per-sample training loss of each head, as its weights changed. */
  readonly losses: number[];
  readonly steps: number;
}

export class GroupRunner {
  private readonly heads: number;
  private readonly x: Float32Array;
  private readonly t: Float32Array;
  private readonly stateFeeds: Record<string, Tensor>;
  private readonly stateArrays: readonly Float32Array[];
  /** The single step's outputs, pre-allocated: the losses, and the gradients straight into Adam's memory. */
  private readonly lossOut: Float32Array;
  private readonly stepFetches: Record<string, Tensor>;
  private readonly scales = new Map<number, Tensor>();
  /** Tensors over the batch buffers, by rows per head (a full batch, a Loop's K batches, the last batch). */
  private readonly batchTensors = new Map<number, { x: Tensor; t: Tensor }>();

  constructor(
    private readonly ort: Ort,
    /** The heads' tasks, in the order of the Adam group. */
    private readonly tasks: readonly TrainTask[],
    private readonly batch: number,
    private readonly k: number,
    private readonly reduction: 'sum' | 'mean',
    private readonly adam: Adam,
    private readonly momentNames: readonly string[],
  ) {
    const { images, targets, meta } = tasks[0];
    this.heads = tasks.length;
    this.x = new Float32Array(this.heads * k * batch * images.dim);
    this.t = new Float32Array(this.heads * k * batch * targets.dim);
    this.lossOut = new Float32Array(this.heads);
    const shapes = stackedShapes(meta.dims, this.heads) as number[][];
    this.stateArrays = [...adam.w, ...adam.m, ...adam.v];
    const names = [...WEIGHT_NAMES, ...momentNames];
    this.stateFeeds = Object.fromEntries(names.map((n, j) => [n, new ort.Tensor('float32', this.stateArrays[j], shapes[j % 4])]));
    this.stepFetches = {
      loss: new ort.Tensor('float32', this.lossOut, [this.heads]),
      ...Object.fromEntries(GRAD_NAMES.map((n, j) => [n, new ort.Tensor('float32', adam.g[j], shapes[j])])),
    };
  }

  /** Copies `rows` examples from `start` of every head's examples into the batch buffers ([heads, rows, ·]). */
  private fill(exs: readonly Examples[], start: number, rows: number): { x: Tensor; t: Tensor } {
    const xd = this.tasks[0].images.dim;
    const td = this.tasks[0].targets.dim;
    exs.forEach((ex, h) => {
      const { images, targets } = this.tasks[h];
      for (let i = 0; i < rows; i++) {
        const xr = ex.xRows[start + i];
        const tr = ex.targetRows[start + i];
        this.x.set(images.data.subarray(xr * xd, (xr + 1) * xd), (h * rows + i) * xd);
        this.t.set(targets.data.subarray(tr * td, (tr + 1) * td), (h * rows + i) * td);
      }
    });
    let tensors = this.batchTensors.get(rows);
    if (!tensors) {
      const n = this.heads * rows;
      tensors = {
        x: new this.ort.Tensor('float32', this.x.subarray(0, n * xd), [this.heads, rows, xd]),
        t: new this.ort.Tensor('float32', this.t.subarray(0, n * td), [this.heads, rows, td]),
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

  private feedsOf(f: { x: Tensor; t: Tensor }): Record<string, Tensor> {
    return { x: f.x, [this.tasks[0].targetInput]: f.t };
  }

  /** Every head's epoch must feed the same number of rows: the heads step together. */
  private count(exs: readonly Examples[]): number {
    const n = exs[0].xRows.length;
    if (exs.some((e) => e.xRows.length !== n)) throw new Error(`heads trained together need epochs of equal length, got ${exs.map((e) => e.xRows.length).join(', ')} pairs`);
    return n;
  }

  /** Mean per-sample loss of each head on its `exs` without training. */
  async loss(session: InferenceSession, exs: readonly Examples[], cancelled: () => boolean): Promise<number[]> {
    const n = this.count(exs);
    const total = new Array<number>(this.heads).fill(0);
    const unit = new this.ort.Tensor('float32', Float32Array.of(1), []);
    for (let start = 0; start < n; start += this.batch) {
      if (cancelled()) throw new StageError('training cancelled');
      const b = Math.min(this.batch, n - start);
      const out = await session.run({ ...this.feedsOf(this.fill(exs, start, b)), scale: unit, ...this.weightFeeds() });
      (out.loss.data as Float32Array).forEach((l, h) => (total[h] += l));
    }
    return total.map((t) => t / n);
  }

  /** One epoch of training of every head, each at its own learning rate `lrs[h]`. */
  async train(sessions: GroupSessions, exs: readonly Examples[], lrs: readonly number[], cancelled: () => boolean, onFraction?: (f: number) => void): Promise<EpochLosses> {
    const n = this.count(exs);
    const toSum = (loss: number, b: number): number => (this.reduction === 'mean' ? loss * b : loss);
    const total = new Array<number>(this.heads).fill(0);
    let steps = 0;
    let start = 0;
    if (sessions.loop) ({ steps, start } = await this.loopSteps(sessions.loop, exs, n, lrs, total, cancelled, onFraction));
    const weights = this.weightFeeds();
    for (; start < n; start += this.batch) {
      if (cancelled()) throw new StageError('training cancelled');
      const b = Math.min(this.batch, n - start);
      await sessions.step.run({ ...this.feedsOf(this.fill(exs, start, b)), scale: this.scale(b), ...weights }, this.stepFetches);
      for (let h = 0; h < this.heads; h++) {
        total[h] += toSum(this.lossOut[h], b);
        this.adam.update(lrs[h], h);
      }
      steps++;
      if (steps % 256 === 0) onFraction?.(start / n);
    }
    return { losses: total.map((t) => t / n), steps };
  }

  /** The full batches of an epoch through the Loop graph, `k` per run; adds to `total` (summed losses). */
  private async loopSteps(loop: InferenceSession, exs: readonly Examples[], n: number, lrs: readonly number[], total: number[], cancelled: () => boolean, onFraction?: (f: number) => void): Promise<{ steps: number; start: number }> {
    const { beta1, beta2 } = this.adam.config;
    const full = Math.floor(n / this.batch);
    const scale = this.scale(this.batch);
    let steps = 0;
    let start = 0;
    while (steps < full) {
      if (cancelled()) throw new StageError('training cancelled');
      const k = Math.min(this.k, full - steps);
      const f = this.fill(exs, start, k * this.batch);
      const alphas = new Float32Array(k * this.heads);
      for (let j = 0; j < k; j++) {
        for (let h = 0; h < this.heads; h++) {
          const t = this.adam.steps[h] + j + 1;
          alphas[j * this.heads + h] = (lrs[h] * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t);
        }
      }
      const out = await loop.run({
        X: f.x, T: f.t, scale, ...this.stateFeeds,
        steps: new this.ort.Tensor('int64', BigInt64Array.of(BigInt(k)), []),
        alphas: new this.ort.Tensor('float32', alphas, [k, this.heads]),
      });
      [...WEIGHT_NAMES, ...this.momentNames].forEach((name, j) => this.stateArrays[j].set(out[`${name}_out`].data as Float32Array));
      const losses = out.losses.data as Float32Array;
      for (let i = 0; i < losses.length; i++) total[i % this.heads] += this.reduction === 'mean' ? losses[i] * this.batch : losses[i];
      for (let h = 0; h < this.heads; h++) this.adam.steps[h] += k;
      steps += k;
      start += k * this.batch;
      if (steps % (8 * this.k) < k) onFraction?.(start / n);
    }
    return { steps, start };
  }
}
