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
//
// Heads train in GROUPS (`trainGroup`; `train` is a group of one): the heads of a seed sweep share their
// inputs, sessions and per-epoch evaluation, each with its own initialisation, data order, draws,
// learning-rate schedule, early stopping, checkpoints and resume directory. `headsPerRun` of them are
// stacked in one session.run of the step graph (graphs.ts); by default all of them (why: group-runner.ts).
// A head's numbers are the same in any group and at any `headsPerRun`: the graphs never mix heads and
// Adam updates each head's part alone (test/train/group.test.ts).
import type { StudyMetric } from '../formats.js';
import { cpSync, existsSync, rmSync } from 'node:fs';
import type { InferenceSession } from 'onnxruntime-node';
import { Adam, KERAS_ADAM, type AdamConfig } from './adam.js';
import { epochDir, loadHead, loadResume, resumeEpochs, saveHead, saveResume, type Head, type HeadMeta, type LoadedResume } from './checkpoint.js';
import type { StepBuilder } from './graphs.js';
import { GroupRunner, type GroupSessions } from './group-runner.js';
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
  /**
   * Heads of a group stacked in one session.run (`headsPerRun` default: all of them, on every provider;
   * group-runner.ts says why). 1: the heads take turns, each running a whole epoch alone. The numbers are
   * the same either way.
   */
  readonly headsPerRun?: number;
}

/** Heads per session.run: `headsPerRun`, or all the heads of the group (see TrainOptions). */
export function headsPerRun(opts: TrainOptions): number {
  return opts.headsPerRun ?? Number.MAX_SAFE_INTEGER;
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

/** One head of a group: what `train` takes for a single head. */
export interface GroupMember {
  readonly task: TrainTask;
  readonly opts: TrainOptions;
  readonly hooks: TrainHooks;
}

/** A head that finished an epoch, as the group's evaluation receives it. */
export interface FinishedEpoch {
  /** Index of the head in the `members` given to `trainGroup`. */
  readonly member: number;
  readonly epoch: number;
  readonly head: Head;
}

/**
 * Per-epoch evaluation of a group: called once per epoch round with every head that finished an epoch
 * (so one pass over each evaluation set can score all of them); returns each one's metric rows, in order.
 */
export type GroupEvaluation = (finished: readonly FinishedEpoch[]) => Promise<StudyMetric[][]>;

/** A head's weights, Adam moments and loop state where training starts: fresh, or from its resume dir. */
interface Start {
  readonly weights: readonly Float32Array[];
  readonly m: readonly Float32Array[] | null;
  readonly v: readonly Float32Array[] | null;
  readonly adamStep: number;
  readonly state: LoopState;
  readonly resumedFrom: number | null;
}

function startOf(member: GroupMember): Start {
  const { task, opts, hooks } = member;
  const fresh: Start = { weights: opts.init ?? initialWeights(task.meta, opts.seed), m: null, v: null, adamStep: 0, state: { schedule: initialSchedule(opts.lr), history: [], rows: [] }, resumedFrom: null };
  if (!hooks.resumeDir) return fresh;
  const done = resumeEpochs(hooks.resumeDir);
  const resumed = done.length > 0 ? tryLoadResume(hooks.resumeDir, done, hooks.log ?? (() => {})) : null;
  if (!resumed) return fresh;
  const last = done[done.length - 1];
  // Head checkpoints of the epochs before the interruption live on in the resume directory.
  for (const e of done) {
    const target = epochDir(hooks.checkpointsDir, e);
    if (!existsSync(target)) cpSync(epochDir(hooks.resumeDir, e), target, { recursive: true, filter: (src) => !/[/\\](m_|v_|state\.json)[^/\\]*$/.test(src) });
  }
  hooks.log?.(`resumed after epoch ${last} (${resumed.resume.adamStep} steps)`);
  return { weights: resumed.head.weights, m: resumed.m, v: resumed.v, adamStep: resumed.resume.adamStep, state: resumed.resume.state, resumedFrom: last };
}

/** A head while its group trains: its loop state, and where its weights, moments and step count are. */
interface Live {
  readonly index: number;
  readonly member: GroupMember;
  readonly resumedFrom: number | null;
  readonly state: LoopState;
  /** Views into the current Adam group while it trains (copied into a new group on every regroup). */
  weights: readonly Float32Array[];
  m: readonly Float32Array[] | null;
  v: readonly Float32Array[] | null;
  adamStep: number;
}

const finished = (l: Live): boolean => l.state.schedule.stopped || l.state.history.length >= l.member.opts.epochs;

/**
 * What every head of a group must share: one graph, one batch layout, one session configuration; heads
 * stacked in one session.run (`headsPerRun` > 1) also the number of validation pairs.
 */
export function groupKey(m: GroupMember): string {
  const { task, opts } = m;
  const adam = opts.adam ?? KERAS_ADAM;
  const perRun = headsPerRun(opts);
  return JSON.stringify([task.step.key, task.targetInput, task.meta.dims, task.images.dim, task.targets.dim, opts.batchSize, opts.reduction, opts.stepsPerRun ?? 1, perRun, opts.threads ?? 1, opts.executionProviders ?? ['cpu'], adam, perRun > 1 ? task.val.xRows.length : null]);
}

/**
 * The heads still training, in one Adam group and one runner. Rebuilt (weights, moments and step counts
 * copied) when a head leaves: a finished head must stop changing, and dropping it from the stacked
 * tensors also stops spending its GEMMs — masking its update would keep computing its gradients, and
 * the graphs take any number of heads, so no session is rebuilt.
 */
function regroup(ort: Ort, live: readonly Live[], members: readonly GroupMember[], momentNames: readonly string[]): { adam: Adam; runner: GroupRunner } {
  const { opts } = members[0];
  const sizes = live[0].weights.map((w) => w.length);
  const adam = new Adam(sizes, opts.adam ?? KERAS_ADAM, live.length);
  live.forEach((l, h) => {
    sizes.forEach((_, k) => {
      adam.part(adam.w[k], k, h).set(l.weights[k]);
      if (l.m) adam.part(adam.m[k], k, h).set(l.m[k]);
      if (l.v) adam.part(adam.v[k], k, h).set(l.v[k]);
    });
    adam.steps[h] = l.adamStep;
    // From now on the head's state lives in the group's memory.
    l.weights = sizes.map((_, k) => adam.part(adam.w[k], k, h));
    l.m = sizes.map((_, k) => adam.part(adam.m[k], k, h));
    l.v = sizes.map((_, k) => adam.part(adam.v[k], k, h));
  });
  const runner = new GroupRunner(ort, live.map((l) => l.member.task), opts.batchSize, opts.stepsPerRun ?? 1, opts.reduction, adam, momentNames, headsPerRun(opts));
  return { adam, runner };
}

async function createSessions(ort: Ort, m: GroupMember): Promise<GroupSessions> {
  const graphs = await import('./graphs.js');
  const { task, opts } = m;
  const options = ortSessionOptions(opts.threads ?? 1, opts.executionProviders ?? ['cpu']);
  const k = opts.stepsPerRun ?? 1;
  const create = (bytes: Uint8Array): Promise<InferenceSession> => ort.InferenceSession.create(bytes, options);
  return {
    step: await create(graphs.stepGraph(task.step, task.targetInput, task.meta.dims, true)),
    loop: k > 1 ? await create(graphs.loopGraph(task.step, task.targetInput, task.meta.dims, opts.batchSize, opts.adam ?? KERAS_ADAM)) : null,
    loss: await create(graphs.stepGraph(task.step, task.targetInput, task.meta.dims, false)),
  };
}

interface Group {
  readonly adam: Adam;
  readonly runner: GroupRunner;
}

/** One epoch of every live head (each its own next epoch), its checkpoints, evaluation and resume state. */
async function epochRound(live: readonly Live[], group: Group, sessions: GroupSessions, evaluate: GroupEvaluation | undefined): Promise<void> {
  const epochs = live.map((l) => l.state.history.length + 1);
  const cancelled = (): boolean => live.some((l) => l.member.hooks.signal?.aborted === true);
  const lrs = live.map((l) => l.state.schedule.lr);
  const examples = live.map((l, h) => l.member.task.epochExamples(epochs[h]));
  const progress = (f: number): void => live.forEach((l, h) => l.member.hooks.progress?.(epochs[h] - 1 + f, l.member.opts.epochs));
  const { losses, steps } = await group.runner.train(sessions, examples, lrs, cancelled, progress);
  const valLosses = await group.runner.loss(sessions.loss, live.map((l) => l.member.task.val), cancelled);
  const heads = live.map((l, h): Head => {
    const { task, opts, hooks } = l.member;
    const [epoch, lr, valLoss] = [epochs[h], lrs[h], valLosses[h]];
    const decision = afterEpoch(l.state.schedule, epoch, valLoss, opts.plateau, opts.earlyStopping);
    l.state.history.push({ epoch, trainLoss: losses[h], valLoss, lr, lrReduced: decision.lrReduced, steps: steps[h] });
    l.adamStep = group.adam.steps[h];
    hooks.log?.(`epoch ${epoch}: train_loss ${losses[h].toFixed(5)} val_loss ${valLoss.toFixed(5)} lr ${lr}${decision.lrReduced ? ` -> ${l.state.schedule.lr}` : ''}${decision.stop ? ' (early stop)' : ''}`);
    const head = { meta: { ...task.meta, epoch }, weights: l.weights };
    saveHead(epochDir(hooks.checkpointsDir, epoch), head);
    return head;
  });
  const rows = evaluate ? await evaluate(live.map((l, h) => ({ member: l.index, epoch: epochs[h], head: heads[h] }))) : [];
  live.forEach((l, h) => {
    const { opts, hooks } = l.member;
    l.state.rows.push(...(rows[h] ?? []));
    if (hooks.resumeDir) saveResume(hooks.resumeDir, heads[h], l.m ?? [], l.v ?? [], { epoch: epochs[h], adamStep: l.adamStep, state: l.state });
    hooks.progress?.(epochs[h], opts.epochs);
  });
}

function resultOf(l: Live): TrainResult {
  const { task, opts, hooks } = l.member;
  const lastEpoch = l.state.history.length;
  const bestEpoch = l.state.schedule.bestEpoch;
  const chosen = opts.headEpoch === 'best' ? bestEpoch : lastEpoch;
  return {
    history: l.state.history,
    bestEpoch,
    lastEpoch,
    stoppedEarly: l.state.schedule.stopped,
    resumedFrom: l.resumedFrom,
    head: chosen === lastEpoch ? { meta: { ...task.meta, epoch: lastEpoch }, weights: l.weights } : loadHead(epochDir(hooks.checkpointsDir, chosen)),
    rows: l.state.rows,
  };
}

/**
 * Trains several heads together: one session per graph and one evaluation per epoch round for all of them,
 * `headsPerRun` heads per session.run (see the top of this file). Every member must build the same graph
 * and batch layout (same step, dims, batch size, reduction, steps and heads per run, session options);
 * heads stacked in one run (`headsPerRun` > 1) also the validation size and, in every epoch round, the
 * number of training pairs. Seeds, learning rates, schedules, epochs, early
 * stopping, checkpoint and resume directories are each head's own. Heads resumed at different epochs
 * train together too (each its own next epoch). Returns each member's result, in order.
 */
export async function trainGroup(members: readonly GroupMember[], evaluate?: GroupEvaluation): Promise<TrainResult[]> {
  const key = members.length > 0 ? groupKey(members[0]) : '';
  const odd = members.findIndex((m) => groupKey(m) !== key);
  if (odd >= 0) throw new Error(`head ${odd} cannot train in this group: its step graph, shapes or session options differ from head 0's`);
  const all: Live[] = members.map((member, index) => {
    const s = startOf(member);
    return { index, member, resumedFrom: s.resumedFrom, state: s.state, weights: s.weights, m: s.m, v: s.v, adamStep: s.adamStep };
  });
  let live = all.filter((l) => !finished(l));
  if (live.length > 0) {
    const ort = await import('onnxruntime-node');
    const { MOMENT_NAMES } = await import('./graphs.js');
    const sessions = await createSessions(ort, members[0]);
    try {
      let group = regroup(ort, live, members, MOMENT_NAMES);
      while (live.length > 0) {
        await epochRound(live, group, sessions, evaluate);
        const left = live.filter(finished);
        if (left.length === 0) continue;
        // A finished head keeps a copy of its weights; the others move into a smaller group.
        for (const l of left) [l.weights, l.m, l.v] = [l.weights.map((w) => Float32Array.from(w)), null, null];
        live = live.filter((l) => !finished(l));
        if (live.length > 0) group = regroup(ort, live, members, MOMENT_NAMES);
      }
    } finally {
      await sessions.step.release();
      await sessions.loop?.release();
      await sessions.loss.release();
    }
  }
  return all.map(resultOf);
}

/** Trains one head: a group of one. */
export async function train(task: TrainTask, opts: TrainOptions, hooks: TrainHooks): Promise<TrainResult> {
  const { onEpoch } = hooks;
  const evaluate: GroupEvaluation | undefined = onEpoch && (async (done) => [await onEpoch(done[0].epoch, done[0].head)]);
  return (await trainGroup([{ task, opts, hooks }], evaluate))[0];
}
