// Feeds the batches of a group of heads to the step, loop and loss sessions. The group is cut into LANES
// of `perRun` consecutive heads: the heads of a lane are stacked on the leading axis of one session.run
// and run in lock step (step s of an epoch takes rows sB..sB+B of EACH head's own examples: its own
// shuffle and draws, so their epochs must have the same length), and the lanes take turns, each running
// its whole epoch before the next one starts (lanes may differ in epoch length).
// Learning rate, Adam step count and epoch are per head. Buffers, tensors and fetches are reused: nothing
// is allocated per step on our side.
//
// Why lanes, and why all heads in one lane by default (docs/heads.md, "Training heads together"): a step's
// arithmetic is K independent GEMM chains. Stacked, every step touches K heads' weights, gradients and
// Adam moments (4 MB per CE head, 8 MB per contrastive head), which then no longer stay in cache from one
// step to the next, so in a bare process one head per run (the heads taking turns) can be faster per head.
// But every session.run also costs a garbage-collected allocation: onnxruntime-node returns a fresh copy
// of every output, pre-allocated or not (2.1 MB of gradients per contrastive head-step), and in the
// engine's process, whose heap is larger, V8 answers that external memory with full mark-compacts. In a
// training stage under the engine, taking turns measured 1.19x the CPU of stacking (BENCHMARKS.md, "Demo
// pipeline"), so stacking is the default; one head per run stays an option (bench/train.ts compares them).
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
  /** Optimiser steps each head took. */
  readonly steps: number[];
}

/** Heads [from, to) of the group, stacked in one session.run: views of their state in Adam's memory. */
interface Lane {
  readonly from: number;
  readonly to: number;
  readonly stateFeeds: Record<string, Tensor>;
  readonly stateArrays: readonly Float32Array[];
  /** The single step's outputs, pre-allocated: the losses, and the gradients straight into Adam's memory. */
  readonly lossOut: Float32Array;
  readonly stepFetches: Record<string, Tensor>;
}

export class GroupRunner {
  private readonly lanes: readonly Lane[];
  private readonly x: Float32Array;
  private readonly t: Float32Array;
  private readonly scales = new Map<number, Tensor>();
  /** Tensors over the batch buffers, by heads and rows per head (a full batch, a Loop's K batches, the last batch). */
  private readonly batchTensors = new Map<string, { x: Tensor; t: Tensor }>();

  constructor(
    private readonly ort: Ort,
    /** The heads' tasks, in the order of the Adam group. */
    private readonly tasks: readonly TrainTask[],
    private readonly batch: number,
    private readonly k: number,
    private readonly reduction: 'sum' | 'mean',
    private readonly adam: Adam,
    private readonly momentNames: readonly string[],
    /** Heads per session.run (the lane width). */
    perRun: number,
  ) {
    const { images, targets } = tasks[0];
    const width = Math.min(perRun, tasks.length);
    this.x = new Float32Array(width * k * batch * images.dim);
    this.t = new Float32Array(width * k * batch * targets.dim);
    const lanes: Lane[] = [];
    for (let from = 0; from < tasks.length; from += width) lanes.push(this.lane(from, Math.min(from + width, tasks.length)));
    this.lanes = lanes;
  }

  private lane(from: number, to: number): Lane {
    const { adam, ort } = this;
    const shapes = stackedShapes(this.tasks[0].meta.dims, to - from) as number[][];
    const view = (stacked: readonly Float32Array[]): Float32Array[] => stacked.map((t, k) => adam.parts(t, k, from, to));
    const stateArrays = [...view(adam.w), ...view(adam.m), ...view(adam.v)];
    const names = [...WEIGHT_NAMES, ...this.momentNames];
    const grads = view(adam.g);
    const lossOut = new Float32Array(to - from);
    return {
      from, to, stateArrays, lossOut,
      stateFeeds: Object.fromEntries(names.map((n, j) => [n, new ort.Tensor('float32', stateArrays[j], shapes[j % 4])])),
      stepFetches: {
        loss: new ort.Tensor('float32', lossOut, [to - from]),
        ...Object.fromEntries(GRAD_NAMES.map((n, j) => [n, new ort.Tensor('float32', grads[j], shapes[j])])),
      },
    };
  }

  /** Copies `rows` examples from `start` of the lane's heads' examples into the batch buffers ([heads, rows, ·]). */
  private fill(lane: Lane, exs: readonly Examples[], start: number, rows: number): { x: Tensor; t: Tensor } {
    const xd = this.tasks[0].images.dim;
    const td = this.tasks[0].targets.dim;
    for (let h = lane.from; h < lane.to; h++) {
      const { images, targets } = this.tasks[h];
      const ex = exs[h];
      const at = (h - lane.from) * rows;
      for (let i = 0; i < rows; i++) {
        const xr = ex.xRows[start + i];
        const tr = ex.targetRows[start + i];
        this.x.set(images.data.subarray(xr * xd, (xr + 1) * xd), (at + i) * xd);
        this.t.set(targets.data.subarray(tr * td, (tr + 1) * td), (at + i) * td);
      }
    }
    const heads = lane.to - lane.from;
    let tensors = this.batchTensors.get(`${heads}:${rows}`);
    if (!tensors) {
      const n = heads * rows;
      tensors = {
        x: new this.ort.Tensor('float32', this.x.subarray(0, n * xd), [heads, rows, xd]),
        t: new this.ort.Tensor('float32', this.t.subarray(0, n * td), [heads, rows, td]),
      };
      this.batchTensors.set(`${heads}:${rows}`, tensors);
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

  private weightFeeds(lane: Lane): Record<string, Tensor> {
    return Object.fromEntries(WEIGHT_NAMES.map((n) => [n, lane.stateFeeds[n]]));
  }

  private feedsOf(f: { x: Tensor; t: Tensor }): Record<string, Tensor> {
    return { x: f.x, [this.tasks[0].targetInput]: f.t };
  }

  /** The rows of each of the lane's heads' examples: all the same, as the heads of a lane step together. */
  private count(lane: Lane, exs: readonly Examples[]): number {
    const mine = exs.slice(lane.from, lane.to);
    const n = mine[0].xRows.length;
    if (mine.some((e) => e.xRows.length !== n)) throw new Error(`heads stacked in one session.run need epochs of equal length, got ${mine.map((e) => e.xRows.length).join(', ')} pairs`);
    return n;
  }

  /** Mean per-sample loss of each head on its `exs` without training. */
  async loss(session: InferenceSession, exs: readonly Examples[], cancelled: () => boolean): Promise<number[]> {
    const total = new Array<number>(this.tasks.length).fill(0);
    const unit = new this.ort.Tensor('float32', Float32Array.of(1), []);
    for (const lane of this.lanes) {
      const n = this.count(lane, exs);
      const weights = this.weightFeeds(lane);
      for (let start = 0; start < n; start += this.batch) {
        if (cancelled()) throw new StageError('training cancelled');
        const b = Math.min(this.batch, n - start);
        const out = await session.run({ ...this.feedsOf(this.fill(lane, exs, start, b)), scale: unit, ...weights });
        (out.loss.data as Float32Array).forEach((l, j) => (total[lane.from + j] += l));
      }
      for (let h = lane.from; h < lane.to; h++) total[h] /= n;
    }
    return total;
  }

  /**
   * One epoch of training of every head, each at its own learning rate `lrs[h]`, lane after lane.
   * `onFraction` gets the share of the group's epoch done.
   */
  async train(sessions: GroupSessions, exs: readonly Examples[], lrs: readonly number[], cancelled: () => boolean, onFraction?: (f: number) => void): Promise<EpochLosses> {
    const total = new Array<number>(this.tasks.length).fill(0);
    const steps = new Array<number>(this.tasks.length).fill(0);
    for (const [i, lane] of this.lanes.entries()) {
      const n = this.count(lane, exs);
      const laneFraction = onFraction && ((f: number): void => onFraction((i + f) / this.lanes.length));
      const laneSteps = await this.laneEpoch(lane, sessions, exs, n, lrs, total, cancelled, laneFraction);
      for (let h = lane.from; h < lane.to; h++) [total[h], steps[h]] = [total[h] / n, laneSteps];
    }
    return { losses: total, steps };
  }

  /** One epoch of a lane's heads; adds their summed losses to `total`; returns the steps taken. */
  private async laneEpoch(lane: Lane, sessions: GroupSessions, exs: readonly Examples[], n: number, lrs: readonly number[], total: number[], cancelled: () => boolean, onFraction?: (f: number) => void): Promise<number> {
    const toSum = (loss: number, b: number): number => (this.reduction === 'mean' ? loss * b : loss);
    let steps = 0;
    let start = 0;
    if (sessions.loop) ({ steps, start } = await this.loopSteps(lane, sessions.loop, exs, n, lrs, total, cancelled, onFraction));
    const weights = this.weightFeeds(lane);
    for (; start < n; start += this.batch) {
      if (cancelled()) throw new StageError('training cancelled');
      const b = Math.min(this.batch, n - start);
      await sessions.step.run({ ...this.feedsOf(this.fill(lane, exs, start, b)), scale: this.scale(b), ...weights }, lane.stepFetches);
      for (let h = lane.from; h < lane.to; h++) {
        total[h] += toSum(lane.lossOut[h - lane.from], b);
        this.adam.update(lrs[h], h);
      }
      steps++;
      if (steps % 256 === 0) onFraction?.(start / n);
    }
    return steps;
  }

  /** The full batches of a lane's epoch through the Loop graph, `k` per run; adds to `total` (summed losses). */
  private async loopSteps(lane: Lane, loop: InferenceSession, exs: readonly Examples[], n: number, lrs: readonly number[], total: number[], cancelled: () => boolean, onFraction?: (f: number) => void): Promise<{ steps: number; start: number }> {
    const { beta1, beta2 } = this.adam.config;
    const heads = lane.to - lane.from;
    const full = Math.floor(n / this.batch);
    const scale = this.scale(this.batch);
    let steps = 0;
    let start = 0;
    while (steps < full) {
      if (cancelled()) throw new StageError('training cancelled');
      const k = Math.min(this.k, full - steps);
      const f = this.fill(lane, exs, start, k * this.batch);
      const alphas = new Float32Array(k * heads);
      for (let j = 0; j < k; j++) {
        for (let h = 0; h < heads; h++) {
          const t = this.adam.steps[lane.from + h] + j + 1;
          alphas[j * heads + h] = (lrs[lane.from + h] * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t);
        }
      }
      const out = await loop.run({
        X: f.x, T: f.t, scale, ...lane.stateFeeds,
        steps: new this.ort.Tensor('int64', BigInt64Array.of(BigInt(k)), []),
        alphas: new this.ort.Tensor('float32', alphas, [k, heads]),
      });
      [...WEIGHT_NAMES, ...this.momentNames].forEach((name, j) => lane.stateArrays[j].set(out[`${name}_out`].data as Float32Array));
      const losses = out.losses.data as Float32Array;
      for (let i = 0; i < losses.length; i++) total[lane.from + (i % heads)] += this.reduction === 'mean' ? losses[i] * this.batch : losses[i];
      for (let h = lane.from; h < lane.to; h++) this.adam.steps[h] += k;
      steps += k;
      start += k * this.batch;
      if (steps % (8 * this.k) < k) onFraction?.(start / n);
    }
    return { steps, start };
  }
}
