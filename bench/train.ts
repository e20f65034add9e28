// `npm run bench:train`: training throughput of the CLIP-E heads on onnxruntime-node, side by side with
// (a) the ceiling: the same GEMMs (forward + backward) through bare onnxruntime at the same shapes, one
//     session.run per step like the trainer;
// (b) the design's original choice: the same CE head in @tensorflow/tfjs with the wasm backend (model.fit);
// plus the cost of the pieces of one step (session.run of the step graph alone, the fused Adam loop alone),
// to say which bound the trainer hits.
//
// Data: random 512-d embeddings; an "epoch" is WEBEmo's 213,952 training images. Each configuration runs
// on a slice (`--samples N`, default 8,192 CE samples / `--contrastive-samples` 2,048 pairs, i.e. 256
// steps each) and the epoch time is extrapolated; `--full` runs whole epochs. The configurations of a head
// are measured in `--rounds R` (default 3) interleaved rounds and the best round is kept, so that load
// from other processes on a shared machine hits every configuration alike. `--threads T` sets
// onnxruntime intra-op threads (default 2).
//
// Training a sweep together (issue 14): K = `--group K` (default 5) heads of one kind, differing in seed,
// trained by one `trainGroup` (stacked: one session.run per step for all K, the default; or taking turns: one
// head per run) against the same K heads trained one after the other by K `train` calls, in the
// same interleaved rounds; pairs/s counts the pairs of all K heads, and the ratios are of CPU time (this
// process, all threads) as well as wall time. `--group-only` runs just that comparison.
//
// `--trainer-only`: just the two single-head trainers (wall and CPU rates), to compare with a training
// stage; `--table-rows N` draws their samples from an N-row image table (267441: WEBEmo's size, so each
// batch is gathered from 548 MB as in a stage) instead of a slice that stays in cache.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { GraphBuilder, modelBytes } from '../src/onnx/builder.js';
import { Adam } from '../src/train/adam.js';
import { ceStepBuilder, contrastiveStepBuilder, contrastiveStepGraph, crossEntropyStepGraph, stackedShapes, WEIGHT_NAMES, type MlpDims, type StepBuilder } from '../src/train/graphs.js';
import { initialWeights, trainGroup, type Examples, type GroupMember, type TrainOptions, type TrainTask } from '../src/train/trainer.js';
import { Rng } from '../src/train/rng.js';
import { ortSessionOptions } from '../src/train/ort-options.js';
import { weightShapes } from '../src/train/checkpoint.js';

const WEBEMO_TRAIN = 213_952;
const D = 512;
const args = process.argv.slice(2);
const arg = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const full = args.includes('--full');
// A worker (the `--threads T` comparison's T heads at a time) trains with one thread.
const threads = isMainThread ? arg('threads', 2) : 1;
const skipTfjs = args.includes('--no-tfjs');
const rounds = arg('rounds', 3);
const groupSize = arg('group', 5);
const groupOnly = args.includes('--group-only');
const trainerOnly = args.includes('--trainer-only');
// Rows of the image table the examples are drawn from: by default the slice itself (it stays in cache);
// `--table-rows 267441` gathers each batch from a WEBEmo-sized matrix (548 MB), as a stage does.
const tableRows = arg('table-rows', 0);

function randomTable(rows: number, dim: number, seed: number): Float32Array {
  const rng = new Rng(seed, 'bench');
  const a = new Float32Array(rows * dim);
  for (let i = 0; i < a.length; i++) a[i] = rng.next() * 2 - 1;
  return a;
}

let big: Float32Array | null = null;

/** The image table of `rows` rows; a `--table-rows` table is made once and shared by every configuration. */
function bigTable(rows: number): Float32Array {
  if (rows !== tableRows) return randomTable(rows, D, 1);
  big ??= randomTable(rows, D, 1);
  return big;
}

interface Figure {
  readonly name: string;
  readonly samplesPerS: number;
  readonly stepsPerS: number;
  /** Samples per CPU second of this process (all its threads), when measured: on a loaded machine the fairer rate. */
  readonly samplesPerCpuS?: number;
}

function record(name: string, samples: number, batch: number, seconds: number, cpuSeconds?: number): Figure {
  return { name, samplesPerS: samples / seconds, stepsPerS: samples / batch / seconds, samplesPerCpuS: cpuSeconds === undefined ? undefined : samples / cpuSeconds };
}

function print(f: Figure): void {
  const cpu = f.samplesPerCpuS === undefined ? '' : `  ${f.samplesPerCpuS.toFixed(0).padStart(8)} samples/CPU-s`;
  console.log(`${f.name.padEnd(58)} ${f.samplesPerS.toFixed(0).padStart(8)} samples/s ${f.stepsPerS.toFixed(0).padStart(6)} steps/s  (epoch ${(WEBEMO_TRAIN / f.samplesPerS).toFixed(1)} s)${cpu}`);
}

/** CPU seconds of this process (user + system, every thread) since `from`. */
const cpuSince = (from: NodeJS.CpuUsage): number => {
  const u = process.cpuUsage(from);
  return (u.user + u.system) / 1e6;
};

/** Runs every measurement `rounds` times, interleaved, and keeps each one's best round. */
async function bestOf(rounds: number, measures: readonly (() => Promise<Figure>)[]): Promise<Figure[]> {
  const best: (Figure | null)[] = measures.map(() => null);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < measures.length; i++) {
      const f = await measures[i]();
      if (!best[i] || f.samplesPerS > (best[i] as Figure).samplesPerS) best[i] = f;
    }
  }
  const out = best as Figure[];
  out.forEach(print);
  return out;
}

interface HeadSpec {
  readonly batch: number;
  readonly dims: MlpDims;
  readonly targets: { data: Float32Array; dim: number };
  readonly targetInput: 'y' | 't';
  readonly step: StepBuilder;
  readonly reduction: 'sum' | 'mean';
}

/** A head's task over `n` random samples; `seed` shuffles its epochs (as a seed sweep's heads differ). */
function benchTask(h: HeadSpec, n: number, seed: number): TrainTask {
  const rows = Math.max(n, tableRows);
  const images = { data: bigTable(rows), dim: D };
  const rng = new Rng(3, 'targets');
  const tRows = Uint32Array.from({ length: n }, () => rng.int(h.targets.data.length / h.targets.dim));
  // With a table larger than the slice, the slice's samples are spread over all of it.
  const xOf = Uint32Array.from({ length: n }, (_, i) => (rows > n ? rng.int(rows) : i));
  const ex = (epoch: number): Examples => {
    const p = new Rng(seed, 'shuffle', epoch).permutation(n);
    return { xRows: p.map((i) => xOf[i]), targetRows: p.map((i) => tRows[i]) };
  };
  return {
    meta: { format: 'pipe-clipe-head/1', type: h.targetInput === 'y' ? 'cross_entropy' : 'contrastive', ceOutput: h.targetInput === 'y' ? 'softmax' : null, dims: h.dims, taxonomy: 'webemo6', classes: [], taxonomySettings: {}, training: {} },
    images, targets: h.targets, targetInput: h.targetInput,
    epochExamples: ex,
    val: { xRows: Uint32Array.from({ length: h.batch }, (_, i) => i), targetRows: tRows.subarray(0, h.batch) },
    step: h.step,
  };
}

function benchOptions(h: HeadSpec, seed: number, stepsPerRun: number, headsPerRun?: number): TrainOptions {
  return { seed, epochs: 2, stepsPerRun, headsPerRun, batchSize: h.batch, lr: 1e-3, reduction: h.reduction, headEpoch: 'last', threads, plateau: { factor: 0.1, patience: 10, minDelta: 0, minLr: 0 }, earlyStopping: { patience: 10, minDelta: 0 } };
}

/**
 * Seconds of the second of two epochs of `heads` heads trained together (from the end of epoch 1 to the
 * end of epoch 2): the steady state, with its validation pass and checkpoint writes but without session
 * creation. One head = the single-head trainer (`train` is a group of one).
 */
async function epochSeconds(h: HeadSpec, n: number, seeds: readonly number[], stepsPerRun: number, headsPerRun?: number): Promise<{ wall: number; cpu: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'pipe-bench-train-'));
  const ends: { wall: number; cpu: NodeJS.CpuUsage }[] = [];
  const members: GroupMember[] = seeds.map((seed) => ({ task: benchTask(h, n, seed), opts: benchOptions(h, seed, stepsPerRun, headsPerRun), hooks: { checkpointsDir: join(dir, String(seed)) } }));
  await trainGroup(members, async (done) => {
    ends.push({ wall: performance.now(), cpu: process.cpuUsage() });
    return done.map(() => []);
  });
  rmSync(dir, { recursive: true, force: true });
  return { wall: (ends[1].wall - ends[0].wall) / 1000, cpu: (ends[1].cpu.user - ends[0].cpu.user + ends[1].cpu.system - ends[0].cpu.system) / 1e6 };
}

/** The trainer end to end (batch copy, session.run, Adam) over `n` samples, one head. */
async function trainer(name: string, n: number, h: HeadSpec, stepsPerRun: number): Promise<Figure> {
  const s = await epochSeconds(h, n, [0], stepsPerRun);
  return record(name, n, h.batch, s.wall, s.cpu);
}

/** `k` heads (seeds 0..k-1) trained together by one trainGroup, `perRun` per session.run: pairs/s of all of them. */
async function together(name: string, n: number, h: HeadSpec, k: number, perRun: number): Promise<Figure> {
  const s = await epochSeconds(h, n, Array.from({ length: k }, (_, i) => i), 1, perRun);
  return record(name, k * n, h.batch, s.wall, s.cpu);
}

/** The same `k` heads trained one after the other, each by its own single-head trainer. */
async function sequential(name: string, n: number, h: HeadSpec, k: number): Promise<Figure> {
  let [wall, cpu] = [0, 0];
  for (let i = 0; i < k; i++) {
    const s = await epochSeconds(h, n, [i], 1);
    [wall, cpu] = [wall + s.wall, cpu + s.cpu];
  }
  return record(name, k * n, h.batch, wall, cpu);
}

/** session.run of a graph alone, `steps` times with fixed feeds (no batch copy, no Adam). */
async function runOnly(name: string, bytes: Uint8Array, feeds: Record<string, ort.Tensor>, steps: number, batch: number): Promise<Figure> {
  return runRotating(name, bytes, [feeds], steps, batch);
}

/** session.run of a graph alone, `steps` times, the runs taking the feed sets in turn. */
async function runRotating(name: string, bytes: Uint8Array, feedSets: readonly Record<string, ort.Tensor>[], steps: number, batch: number): Promise<Figure> {
  const s = await ort.InferenceSession.create(bytes, ortSessionOptions(threads));
  for (let i = 0; i < 20; i++) await s.run(feedSets[i % feedSets.length]);
  const [t0, c0] = [performance.now(), process.cpuUsage()];
  for (let i = 0; i < steps; i++) await s.run(feedSets[i % feedSets.length]);
  const [sec, cpu] = [(performance.now() - t0) / 1000, cpuSince(c0)];
  await s.release();
  return record(name, steps * batch, batch, sec, cpu);
}

/** The ceiling: the five GEMMs of one step (2 forward, 3 backward) at the head's shapes, nothing else. */
function gemmGraph(b: number, dims: MlpDims): Uint8Array {
  const g = new GraphBuilder('gemm_ceiling');
  g.input('x', 'float32', [b, dims.inputDim]);
  g.input('W1', 'float32', [dims.inputDim, dims.hidden]);
  g.input('W2', 'float32', [dims.hidden, dims.outputDim]);
  g.input('dz', 'float32', [b, dims.outputDim]);
  const h = g.op('MatMul', ['x', 'W1']);
  g.op('MatMul', [h, 'W2'], {}, 'z');
  g.op('Gemm', [h, 'dz'], { transA: 1 }, 'dW2');
  const dh = g.op('Gemm', ['dz', 'W2'], { transB: 1 });
  g.op('Gemm', ['x', dh], { transA: 1 }, 'dW1');
  for (const o of ['z', 'dW2', 'dW1']) g.output(o, 'float32');
  return modelBytes(g);
}

/** Feeds of the step graph for `heads` stacked heads (the same initial weights in each). */
function stepFeeds(b: number, dims: MlpDims, target: { name: string; dim: number }, heads = 1, seed = 0): Record<string, ort.Tensor> {
  const w = initialWeights({ format: 'pipe-clipe-head/1', type: 'cross_entropy', ceOutput: 'softmax', dims, taxonomy: '', classes: [], taxonomySettings: {}, training: {} }, seed);
  const shapes = stackedShapes(dims, heads) as number[][];
  const stacked = (a: Float32Array): Float32Array => {
    const out = new Float32Array(a.length * heads);
    for (let h = 0; h < heads; h++) out.set(a, h * a.length);
    return out;
  };
  const feeds: Record<string, ort.Tensor> = {
    x: new ort.Tensor('float32', randomTable(heads * b, D, 5), [heads, b, D]),
    [target.name]: new ort.Tensor('float32', new Float32Array(heads * b * target.dim).fill(1 / target.dim), [heads, b, target.dim]),
    scale: new ort.Tensor('float32', Float32Array.of(1), []),
  };
  WEIGHT_NAMES.forEach((n, k) => (feeds[n] = new ort.Tensor('float32', stacked(w[k]), shapes[k])));
  return feeds;
}

/**
 * The previous optimiser, kept here as the baseline: the fused typed-array Adam loop (V8 computes it in
 * double with scalar sqrt and div) over plain Float32Arrays.
 */
function typedArrayAdam(w: readonly Float32Array[], g: readonly Float32Array[], m: readonly Float32Array[], v: readonly Float32Array[], step: number, lr: number): void {
  const [beta1, beta2, epsilon] = [0.9, 0.999, 1e-7];
  const alpha = (lr * Math.sqrt(1 - beta2 ** step)) / (1 - beta1 ** step);
  for (let k = 0; k < w.length; k++) {
    const [wk, gk, mk, vk] = [w[k], g[k], m[k], v[k]];
    for (let i = 0; i < wk.length; i++) {
      const gi = gk[i];
      const mi = beta1 * mk[i] + (1 - beta1) * gi;
      const vi = beta2 * vk[i] + (1 - beta2) * gi * gi;
      mk[i] = mi;
      vk[i] = vi;
      wk[i] -= (alpha * mi) / (Math.sqrt(vi) + epsilon);
    }
  }
}

/** One optimiser alone, `steps` updates of a head's parameters: the wasm SIMD kernel or the typed-array baseline. */
async function adamOnly(name: string, kind: 'wasm' | 'typed-array', dims: MlpDims, steps: number, batch: number): Promise<Figure> {
  const sizes = weightShapes(dims).map((s) => s.reduce((a, b) => a * b, 1));
  let update: (i: number) => void;
  if (kind === 'wasm') {
    const adam = new Adam(sizes);
    sizes.forEach((n, k) => (adam.w[k].set(randomTable(n, 1, 7)), adam.g[k].set(randomTable(n, 1, 8))));
    update = () => adam.update(1e-3);
  } else {
    const [w, g, m, v] = [7, 8, 0, 0].map((seed) => sizes.map((n) => (seed ? randomTable(n, 1, seed) : new Float32Array(n))));
    update = (i) => typedArrayAdam(w, g, m, v, i + 1, 1e-3);
  }
  for (let i = 0; i < 20; i++) update(i);
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) update(20 + i);
  return record(`${name} (${(sizes.reduce((a, b) => a + b, 0) / 1e3).toFixed(0)}k params)`, steps * batch, batch, (performance.now() - t0) / 1000);
}

let tfjsReady: Promise<typeof import('@tensorflow/tfjs')> | null = null;

/** @tensorflow/tfjs on its wasm backend, initialised once (the wasm path can only be set before init). */
function tfjsWasm(): Promise<typeof import('@tensorflow/tfjs')> {
  tfjsReady ??= (async () => {
    const tf = await import('@tensorflow/tfjs');
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const { createRequire } = await import('node:module');
    const { dirname } = await import('node:path');
    wasm.setWasmPaths(dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm')) + '/');
    await tf.setBackend('wasm');
    await tf.ready();
    return tf;
  })();
  return tfjsReady;
}

async function tfjsCe(n: number, batch: number, c: number): Promise<Figure> {
  const tf = await tfjsWasm();
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [D], units: 512, activation: 'relu' }), tf.layers.dense({ units: c, activation: 'softmax' })] });
  model.compile({ optimizer: tf.train.adam(1e-3, 0.9, 0.999, 1e-7), loss: 'categoricalCrossentropy' });
  const x = tf.tensor2d(randomTable(n, D, 1), [n, D]);
  const rng = new Rng(3, 'targets');
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: n }, () => rng.int(c)), 'int32'), c);
  await model.fit(x.slice(0, batch * 4), y.slice(0, batch * 4), { batchSize: batch, epochs: 1, verbose: 0 });
  const t0 = performance.now();
  await model.fit(x, y, { batchSize: batch, epochs: 1, verbose: 0, shuffle: false });
  const s = (performance.now() - t0) / 1000;
  return record(`CE tfjs-wasm model.fit (${tf.getBackend()})`, n, batch, s);
}

/** A graph of one Identity on a scalar: what a session.run costs beyond its kernels. */
function tinyGraph(): Uint8Array {
  const g = new GraphBuilder('tiny');
  g.input('a', 'float32', []);
  g.op('Identity', ['a'], {}, 'b');
  g.output('b', 'float32', []);
  return modelBytes(g);
}

/**
 * K heads trained together against the same K heads one after the other, both heads, same rounds: the
 * group stacked in every session.run (headsPerRun K, the default) and the heads taking turns (headsPerRun
 * 1). Beside them, what explains the difference: the step graph alone at K stacked heads, at one head, and
 * at one head whose K weight sets take turns run by run (a stacked step's cache footprint without
 * stacking), and the fixed cost of a session.run (a one-Identity graph).
 */
async function groupComparison(ceN: number, coN: number, ceHead: HeadSpec, coHead: HeadSpec): Promise<void> {
  const k = groupSize;
  console.log(`\n-- ${k} heads (seeds 0..${k - 1}) trained together vs one after the other`);
  const graphAlone = (name: string, h: HeadSpec, heads: number, n: number, weightSets = 1): Promise<Figure> => {
    const bytes = h.targetInput === 'y' ? crossEntropyStepGraph(h.dims, 'softmax', true) : contrastiveStepGraph(h.dims, 'soft', 0.075, true);
    const steps = Math.max(64, Math.floor(n / h.batch / 4));
    const target = { name: h.targetInput, dim: h.targets.dim };
    const sets = Array.from({ length: weightSets }, (_, i) => stepFeeds(h.batch, h.dims, target, heads, i));
    return runRotating(name, bytes, sets, steps, heads * h.batch);
  };
  const heads = (label: 'CE' | 'contrastive', n: number, h: HeadSpec): (() => Promise<Figure>)[] => [
    () => together(`${label}: ${k} together, stacked (${k} heads/run)`, n, h, k, k),
    () => together(`${label}: ${k} together, taking turns (1 head/run)`, n, h, k, 1),
    () => sequential(`${label}: ${k} one after the other (${k} train calls)`, n, h, k),
    () => graphAlone(`${label}: step graph alone, ${k} heads stacked`, h, k, n),
    () => graphAlone(`${label}: step graph alone, 1 head`, h, 1, n),
    () => graphAlone(`${label}: step graph alone, 1 head, ${k} weight sets`, h, 1, n, k),
    // With T threads: what the engine does with separate instances on T cores (`pipe run --jobs T`).
    ...(threads > 1 ? [() => inParallel(`${label}: ${k} one after the other, 1 thread each, ${threads} at a time`, label === 'CE' ? 'ce' : 'contrastive', n, h.batch, k, threads)] : []),
  ];
  const per = threads > 1 ? 7 : 6;
  const f = await bestOf(rounds, [...heads('CE', ceN, ceHead), ...heads('contrastive', coN, coHead), () => runOnly('session.run of a one-Identity graph', tinyGraph(), { a: new ort.Tensor('float32', Float32Array.of(1), []) }, 5000, 1)]);
  const cpu = (x: Figure): number => x.samplesPerCpuS ?? x.samplesPerS;
  const r = (a: Figure, b: Figure): string => `${(cpu(a) / cpu(b)).toFixed(2)}x CPU, ${(a.samplesPerS / b.samplesPerS).toFixed(2)}x wall`;
  const fixedUs = 1e6 / cpu(f[2 * per]);
  const wall = (a: Figure, b: Figure): string => `${(a.samplesPerS / b.samplesPerS).toFixed(2)}x wall`;
  for (const [label, at] of [['CE', 0], ['contrastive', per]] as const) {
    const [stacked, turns, seq, graphK, graph1, graphRot, parallel] = f.slice(at, at + per);
    if (parallel) console.log(`${label} (same run, wall): ${threads} threads: ${k} together stacked / ${threads} at a time with 1 thread each: ${wall(stacked, parallel)}; taking turns / ${threads} at a time: ${wall(turns, parallel)}`);
    const stepUs = (1e6 / cpu(graph1)) * (label === 'CE' ? ceHead.batch : coHead.batch);
    console.log(`${label} (same run): together / one after the other: stacked ${r(stacked, seq)}, taking turns ${r(turns, seq)} (goal 2.5x); step graph alone, ${k} stacked / 1 head: ${r(graphK, graph1)}; 1 head with ${k} weight sets in turn / 1 head: ${r(graphRot, graph1)}`);
    console.log(`${label}: a session.run's fixed cost ${fixedUs.toFixed(0)} us CPU = ${((100 * fixedUs) / stepUs).toFixed(1)}% of a one-head step graph (${stepUs.toFixed(0)} us CPU): sharing it over ${k} heads can gain at most ${((fixedUs + stepUs) / (fixedUs / k + stepUs)).toFixed(3)}x`);
  }
}

/** The two heads at the paper's shapes: CE (webemo6, batch 32, mean) and contrastive (soft, batch 8, sum). */
function headSpecs(): { ceHead: HeadSpec; coHead: HeadSpec } {
  const C = 6;
  const oneHot = { data: new Float32Array(C * C).map((_, i) => (i % (C + 1) === 0 ? 1 : 0)), dim: C };
  const texts = { data: randomTable(64, 512, 9), dim: 512 };
  return {
    ceHead: { batch: 32, dims: { inputDim: D, hidden: 512, outputDim: C }, targets: oneHot, targetInput: 'y', step: ceStepBuilder('softmax'), reduction: 'mean' },
    coHead: { batch: 8, dims: { inputDim: D, hidden: 512, outputDim: 512 }, targets: texts, targetInput: 't', step: contrastiveStepBuilder('soft', 0.075), reduction: 'sum' },
  };
}

/** What a worker of `inParallel` trains: its share of the seeds, one after the other. */
interface WorkerJob {
  readonly head: 'ce' | 'contrastive';
  readonly n: number;
  readonly seeds: readonly number[];
}

/**
 * The K heads one after the other with one thread each, `t` at a time: `t` worker threads (this file,
 * one intra-op thread each) take every t-th seed. The time is the longest worker's sum of its heads'
 * second epochs; wall time only (process CPU time counts every worker).
 */
async function inParallel(name: string, head: 'ce' | 'contrastive', n: number, batch: number, k: number, t: number): Promise<Figure> {
  const shares = Array.from({ length: t }, (_, w) => Array.from({ length: k }, (_, s) => s).filter((s) => s % t === w));
  const seconds = await Promise.all(shares.map((seeds) => new Promise<number>((resolve, reject) => {
    const job: WorkerJob = { head, n, seeds };
    const worker = new Worker(new URL(import.meta.url), { workerData: job });
    worker.once('message', resolve);
    worker.once('error', reject);
  })));
  return record(name, k * n, batch, Math.max(...seconds));
}

async function main(): Promise<void> {
  const ceN = full ? WEBEMO_TRAIN : arg('samples', 8_192);
  const coN = full ? WEBEMO_TRAIN : arg('contrastive-samples', 2_048);
  const { cpus, loadavg } = await import('node:os');
  console.log(`bench:train — onnxruntime-node ${ort.env.versions.common}, ${threads} intra-op thread(s), ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load ${loadavg()[0].toFixed(1)}; CE on ${ceN} samples, contrastive on ${coN} pairs${tableRows ? ` drawn from a ${tableRows}-row table` : ''}, best of ${rounds} interleaved rounds`);
  const { ceHead, coHead } = headSpecs();
  const [ce, co] = [ceHead.dims, coHead.dims];

  if (trainerOnly) {
    await bestOf(rounds, [() => trainer('CE trainer, 1 step/run, wasm SIMD Adam', ceN, ceHead, 1), () => trainer('contrastive trainer, 1 step/run, wasm SIMD Adam', coN, coHead, 1)]);
    return;
  }
  await groupComparison(ceN, coN, ceHead, coHead);
  if (groupOnly) return;

  console.log('\n-- CE head, batch 32, webemo6');
  const C = ce.outputDim;
  const ceGemmFeeds = { x: new ort.Tensor('float32', randomTable(32, D, 1), [32, D]), W1: new ort.Tensor('float32', randomTable(D, 512, 2), [D, 512]), W2: new ort.Tensor('float32', randomTable(512, C, 3), [512, C]), dz: new ort.Tensor('float32', randomTable(32, C, 4), [32, C]) };
  const steps = (n: number, b: number): number => Math.max(256, Math.floor(n / b));
  const [ceTrain, ceTrain1, ceRun, ceAdamOld, ceAdam, ceGemm, tfjs] = await bestOf(rounds, [
    () => trainer('CE trainer, ONNX Loop of 32 steps/run, Adam in graph', ceN, ceHead, 32),
    () => trainer('CE trainer, 1 step/run, wasm SIMD Adam', ceN, ceHead, 1),
    () => runOnly('CE step graph session.run alone', crossEntropyStepGraph(ce, 'softmax', true), stepFeeds(32, ce, { name: 'y', dim: C }), steps(ceN, 32), 32),
    () => adamOnly('CE typed-array Adam alone (previous)', 'typed-array', ce, steps(ceN, 32), 32),
    () => adamOnly('CE wasm SIMD Adam alone', 'wasm', ce, steps(ceN, 32), 32),
    () => runOnly('ceiling: bare ORT GEMMs of a CE step', gemmGraph(32, ce), ceGemmFeeds, steps(ceN, 32), 32),
    ...(skipTfjs ? [] : [() => tfjsCe(Math.min(ceN, arg('tfjs-samples', 2_048)), 32, C)]),
  ]);

  console.log('\n-- contrastive head, batch 8, soft targets');
  const coGemmFeeds = { x: new ort.Tensor('float32', randomTable(8, D, 1), [8, D]), W1: new ort.Tensor('float32', randomTable(D, 512, 2), [D, 512]), W2: new ort.Tensor('float32', randomTable(512, 512, 3), [512, 512]), dz: new ort.Tensor('float32', randomTable(8, 512, 4), [8, 512]) };
  const [coTrain, coTrain1, coRun, coAdamOld, coAdam, coGemm] = await bestOf(rounds, [
    () => trainer('contrastive trainer, ONNX Loop of 32 steps/run', coN, coHead, 32),
    () => trainer('contrastive trainer, 1 step/run, wasm SIMD Adam', coN, coHead, 1),
    () => runOnly('contrastive step graph session.run alone', contrastiveStepGraph(co, 'soft', 0.075, true), stepFeeds(8, co, { name: 't', dim: 512 }), steps(coN, 8), 8),
    () => adamOnly('contrastive typed-array Adam alone (previous)', 'typed-array', co, steps(coN, 8), 8),
    () => adamOnly('contrastive wasm SIMD Adam alone', 'wasm', co, steps(coN, 8), 8),
    () => runOnly('ceiling: bare ORT GEMMs of a contrastive step', gemmGraph(8, co), coGemmFeeds, steps(coN, 8), 8),
  ]);

  const pct = (part: Figure, whole: Figure): string => `${((whole.samplesPerS / part.samplesPerS) * 100).toFixed(0)}%`;
  console.log('\n-- ratios (same run)');
  const r = (a: Figure, b: Figure): string => (a.samplesPerS / b.samplesPerS).toFixed(2);
  console.log(`CE: 1-step wasm trainer / Loop trainer = ${r(ceTrain1, ceTrain)}; wasm / typed-array Adam = ${r(ceAdam, ceAdamOld)}; 1-step trainer / GEMM ceiling = ${r(ceTrain1, ceGemm)}, Loop / ceiling = ${r(ceTrain, ceGemm)}; 1-step trainer / tfjs-wasm = ${tfjs ? r(ceTrain1, tfjs) : 'n/a'}; 1-step trainer time share: session.run ${pct(ceRun, ceTrain1)}, wasm Adam ${pct(ceAdam, ceTrain1)}`);
  console.log(`contrastive: 1-step wasm trainer / Loop trainer = ${r(coTrain1, coTrain)}; wasm / typed-array Adam = ${r(coAdam, coAdamOld)}; 1-step trainer / GEMM ceiling = ${r(coTrain1, coGemm)}, Loop / ceiling = ${r(coTrain, coGemm)}; 1-step trainer time share: session.run ${pct(coRun, coTrain1)}, wasm Adam ${pct(coAdam, coTrain1)}`);
}

if (isMainThread) await main();
else {
  const job = workerData as WorkerJob;
  const { ceHead, coHead } = headSpecs();
  let wall = 0;
  for (const seed of job.seeds) wall += (await epochSeconds(job.head === 'ce' ? ceHead : coHead, job.n, [seed], 1)).wall;
  parentPort?.postMessage(wall);
}
