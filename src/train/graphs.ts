// ONNX graphs of the two CLIP-E heads: forward pass, loss and hand-derived gradients in one graph per
// training step, plus the inference graphs that evaluation and `pipe predict` run.
//
// Every training and inference graph holds a GROUP of K heads stacked on a leading axis (K = 1 for a head
// trained alone): the heads of a seed sweep are independent small GEMM chains, and at batch 8 most of a
// step is per-call overhead, so one session.run of batched MatMuls over K heads replaces K runs
// (docs/heads.md, "Training heads together"). Head k of the group reads slice k of every tensor; nothing
// mixes heads, so a head's numbers do not depend on which group it is trained in.
//
// Shapes: x [K, B, D] image embeddings; W1 [K, D, H], b1 [K, 1, H], W2 [K, H, C], b2 [K, 1, C]; the MLP is
//   a1 = x W1 + b1;  h = relu(a1);  z = h W2 + b2.
// Its backward pass from dz (shared by both heads):
//   dW2 = hᵀ dz;  db2 = Σ_rows dz;  dh = dz W2ᵀ;  da1 = dh ⊙ [a1 > 0];  dW1 = xᵀ da1;  db1 = Σ_rows da1.
// `scale` (a graph input) is 1 for a summed loss and 1/B for a batch mean; it multiplies loss and gradients.
// `loss` is [K]: one value per head.
//
// Every graph is built for float32 (training) or float64 (the gradient checks in test/train/).
import { GraphBuilder, modelBytes, type DType } from '../onnx/builder.js';
import { GRAD_NAMES, WEIGHT_NAMES, type CeOutput, type ContrastiveLoss, type HeadType, type MlpDims } from './head-spec.js';

export { GRAD_NAMES, WEIGHT_NAMES, type CeOutput, type ContrastiveLoss, type HeadType, type MlpDims };
export type FloatType = 'float32' | 'float64';

const OPSET = 17;

/** Shapes of W1, b1, W2, b2 of a group of `k` heads (a symbolic name for a graph input). */
export function stackedShapes(d: MlpDims, k: number | string): (number | string)[][] {
  return [[k, d.inputDim, d.hidden], [k, 1, d.hidden], [k, d.hidden, d.outputDim], [k, 1, d.outputDim]];
}

function constant(g: GraphBuilder, v: number, dtype: FloatType): string {
  return g.constant(dtype === 'float64' ? Float64Array.of(v) : Float32Array.of(v), []);
}

function weightInputs(g: GraphBuilder, dims: MlpDims, dtype: DType): void {
  const shapes = stackedShapes(dims, 'heads');
  WEIGHT_NAMES.forEach((n, k) => g.input(n, dtype, shapes[k]));
}

/** Swaps the last two axes of a stacked [K, r, c] value. */
const transposed = (g: GraphBuilder, v: string): string => g.op('Transpose', [v], { perm: [0, 2, 1] });

/**
 * Batched a·b (optionally aᵀ, bᵀ, × alpha) over the head axis. Written as Transpose / MatMul / Mul:
 * onnxruntime's optimiser fuses them into one FusedMatMul (trans flags, alpha) for float32.
 */
function matmul(g: GraphBuilder, a: string, b: string, o: { transA?: boolean; transB?: boolean; alpha?: number; dtype?: FloatType }, out?: string): string {
  const p = g.op('MatMul', [o.transA ? transposed(g, a) : a, o.transB ? transposed(g, b) : b], {}, o.alpha === undefined ? out : undefined);
  return o.alpha === undefined ? p : g.op('Mul', [p, constant(g, o.alpha, o.dtype ?? 'float32')], {}, out);
}

/** Value names one training step reads and writes; the loop body renames them per iteration. */
export interface StepIO {
  readonly x: string;
  /** `y` (CE) or `t` (contrastive). */
  readonly target: string;
  readonly scale: string;
  /** W1, b1, W2, b2. */
  readonly weights: readonly string[];
  /** Names for the loss and (when computed) dW1, db1, dW2, db2; undefined = fresh names. */
  readonly loss?: string;
  readonly grads?: readonly string[];
}

export interface StepValues {
  readonly loss: string;
  readonly grads: readonly string[];
}

const TOP_IO = (target: string): StepIO => ({ x: 'x', target, scale: 'scale', weights: WEIGHT_NAMES, loss: 'loss', grads: GRAD_NAMES });

interface Mlp {
  readonly a1: string;
  readonly h: string;
  readonly z: string;
}

function mlpForward(g: GraphBuilder, x: string, weights: readonly string[]): Mlp {
  const [W1, b1, W2, b2] = weights;
  const a1 = g.op('Add', [g.op('MatMul', [x, W1]), b1]);
  const h = g.op('Relu', [a1]);
  const z = g.op('Add', [g.op('MatMul', [h, W2]), b2]);
  return { a1, h, z };
}

const sumAxes = (g: GraphBuilder, v: string, axes: readonly number[], keepdims: 0 | 1, out?: string): string =>
  g.op('ReduceSum', [v, g.constant(BigInt64Array.from(axes.map(BigInt)))], { keepdims }, out);

/**
 * A row of B ones [1, B], B being the batch of `x` [K, B, ·]. Sums over the rows of every head are
 * products with it (one small GEMM per head) rather than ReduceSum over axis 1: onnxruntime reduces a
 * middle axis with a different kernel when K = 1 than when K > 1 (other rounding), while a batched
 * MatMul computes every head's slice alike — so a head's bits do not depend on the size of its group.
 */
function onesRow(g: GraphBuilder, x: string, dtype: FloatType): string {
  const b = g.op('Slice', [g.op('Shape', [x]), g.constant(BigInt64Array.of(1n)), g.constant(BigInt64Array.of(2n))]);
  const shape = g.op('Concat', [g.constant(BigInt64Array.of(1n)), b], { axis: 0 });
  const one = dtype === 'float64' ? Float64Array.of(1) : Float32Array.of(1);
  return g.op('ConstantOfShape', [shape], { value: { tensor: { dtype, dims: [1], data: one } } });
}
/** Σ over the rows of every head's [B, ·] matrix, as [K, 1, ·] (the bias gradients' shape). */
const sumRows = (g: GraphBuilder, ones: string, v: string, out?: string): string => g.op('MatMul', [ones, v], {}, out);
/** Σ of every head's [B, ·] matrix: [K] (rows summed alone first, the same way in any group). */
const sumPerHead = (g: GraphBuilder, ones: string, v: string): string =>
  g.op('Reshape', [sumRows(g, ones, sumAxes(g, v, [-1], 1)), g.constant(BigInt64Array.of(-1n))]);

/** Appends the MLP backward pass from `dz`; returns dW1, db1, dW2, db2. */
function mlpBackward(g: GraphBuilder, io: StepIO, m: Mlp, dz: string, ones: string, dtype: FloatType): string[] {
  const out = io.grads ?? [];
  const dW2 = matmul(g, m.h, dz, { transA: true }, out[2]);
  const db2 = sumRows(g, ones, dz, out[3]);
  const dh = matmul(g, dz, io.weights[2], { transB: true });
  const zero = constant(g, 0, dtype);
  const da1 = g.op('Where', [g.op('Greater', [m.a1, zero]), dh, zero]);
  const dW1 = matmul(g, io.x, da1, { transA: true }, out[0]);
  const db1 = sumRows(g, ones, da1, out[1]);
  return [dW1, db1, dW2, db2];
}

/** max(‖v_i‖, eps) per row as [K, B, 1] (torch `F.normalize`; the max only guards a zero row). */
const rowNorm = (g: GraphBuilder, v: string, eps: string): string =>
  g.op('Max', [g.op('Sqrt', [sumAxes(g, g.op('Mul', [v, v]), [-1], 1)]), eps]);

/**
 * Cross-entropy head step: target y (one-hot [K, B, C] for softmax; {0,1} as [K, B, 1] for the authors'
 * one-unit sigmoid head). loss = scale · Σ per-sample CE.
 *   softmax: ℓ = -Σ_c y_c log p_c,  dz = scale · (p - y)
 *   sigmoid: ℓ = softplus(z) - y z (computed as relu(z) - y z + log(1 + e^-|z|)),  dz = scale · (σ(z) - y)
 */
export function crossEntropyStep(g: GraphBuilder, io: StepIO, output: CeOutput, gradients: boolean, dtype: FloatType): StepValues {
  const m = mlpForward(g, io.x, io.weights);
  const ones = onesRow(g, io.x, dtype);
  const y = io.target;
  let perSample: string;
  let residual: string;
  if (output === 'softmax') {
    const logp = g.op('LogSoftmax', [m.z], { axis: -1 });
    perSample = g.op('Neg', [g.op('Mul', [y, logp])]);
    residual = g.op('Sub', [g.op('Exp', [logp]), y]);
  } else {
    const one = constant(g, 1, dtype);
    const softplus = g.op('Add', [g.op('Relu', [m.z]), g.op('Log', [g.op('Add', [one, g.op('Exp', [g.op('Neg', [g.op('Abs', [m.z])])])])])]);
    perSample = g.op('Sub', [softplus, g.op('Mul', [y, m.z])]);
    residual = g.op('Sub', [g.op('Sigmoid', [m.z]), y]);
  }
  const loss = g.op('Mul', [sumPerHead(g, ones, perSample), io.scale], {}, io.loss);
  return { loss, grads: gradients ? mlpBackward(g, io, m, g.op('Mul', [residual, io.scale]), ones, dtype) : [] };
}

/**
 * Contrastive head step over B (image, text) pairs per head; target t [K, B, E] = frozen CLIP text
 * embeddings, L2-normalised by the caller. With u = mlp(x), I = u/‖u‖ (rows), T = t, per head:
 *   L = T Iᵀ / τ;  P = softmax_rows(L);  Q = softmax_cols(L)
 *   soft (authors' code): S = softmax_rows((T Tᵀ + I Iᵀ) / 2τ);  hard (CLIP InfoNCE): S = identity
 *   loss = scale · ½ Σ_ij S_ij (-log P_ij - log Q_ij)
 * (the authors' per-pair loss ½[CE(S_i·, L_i·) + CE(Sᵀ_i·, Lᵀ_i·)], summed over the batch). Gradients:
 *   dL = scale · ½[(P - S) + Q ⊙ colsum(S) - S]                       (rows of S sum to 1)
 *   soft only, through the targets (Keras differentiates them too; no stop-gradient in their code):
 *     dS = -scale · ½(log P + log Q);  dA = S ⊙ (dS - rowsum(S ⊙ dS));  dI += (dA + dAᵀ) I / 2τ
 *   dI += dLᵀ T / τ;  du = (dI - I ⊙ rowsum(dI ⊙ I)) / ‖u‖;  then the MLP backward pass from du.
 */
export function contrastiveStep(g: GraphBuilder, io: StepIO, loss: ContrastiveLoss, tau: number, gradients: boolean, dtype: FloatType): StepValues {
  const t = io.target;
  const m = mlpForward(g, io.x, io.weights);
  const ones = onesRow(g, io.x, dtype);
  const norm = rowNorm(g, m.z, constant(g, 1e-12, dtype));
  const I = g.op('Div', [m.z, norm]);
  const L = matmul(g, t, I, { transB: true, alpha: 1 / tau, dtype });
  const logP = g.op('LogSoftmax', [L], { axis: 2 });
  const logQ = g.op('LogSoftmax', [L], { axis: 1 });
  const S = loss === 'soft'
    ? g.op('Softmax', [g.op('Add', [
        matmul(g, t, t, { transB: true, alpha: 1 / (2 * tau), dtype }),
        matmul(g, I, I, { transB: true, alpha: 1 / (2 * tau), dtype }),
      ])], { axis: 2 })
    // The identity [B, B], broadcast over the heads (EyeLike takes a 2-D input).
    : g.op('EyeLike', [sumAxes(g, L, [0], 0)]);
  const halfScale = g.op('Mul', [io.scale, constant(g, 0.5, dtype)]);
  const logPQ = g.op('Add', [logP, logQ]);
  const lossValue = g.op('Mul', [g.op('Neg', [sumPerHead(g, ones, g.op('Mul', [S, logPQ]))]), halfScale], {}, io.loss);
  if (!gradients) return { loss: lossValue, grads: [] };
  const P = g.op('Exp', [logP]);
  const Q = g.op('Exp', [logQ]);
  const dLraw = g.op('Sub', [g.op('Add', [P, g.op('Mul', [Q, sumRows(g, ones, S)])]), g.op('Add', [S, S])]);
  const dL = g.op('Mul', [dLraw, halfScale]);
  let dI = matmul(g, dL, t, { transA: true, alpha: 1 / tau, dtype });
  if (loss === 'soft') {
    const dS = g.op('Neg', [g.op('Mul', [logPQ, halfScale])]);
    const dA = g.op('Mul', [S, g.op('Sub', [dS, sumAxes(g, g.op('Mul', [S, dS]), [-1], 1)])]);
    const dAsym = g.op('Add', [dA, transposed(g, dA)]);
    dI = g.op('Add', [dI, matmul(g, dAsym, I, { alpha: 1 / (2 * tau), dtype })]);
  }
  const du = g.op('Div', [g.op('Sub', [dI, g.op('Mul', [I, sumAxes(g, g.op('Mul', [dI, I]), [-1], 1)])]), norm]);
  return { loss: lossValue, grads: mlpBackward(g, io, m, du, ones, dtype) };
}

/**
 * A head's training step, built into any graph (top level or a Loop body). `key` names the graph it
 * builds: heads can train in one group only when their keys are equal.
 */
export interface StepBuilder {
  (g: GraphBuilder, io: StepIO, gradients: boolean, dtype: FloatType): StepValues;
  readonly key: string;
}

const stepBuilder = (key: string, build: (g: GraphBuilder, io: StepIO, gradients: boolean, dtype: FloatType) => StepValues): StepBuilder => Object.assign(build, { key });
export const ceStepBuilder = (output: CeOutput): StepBuilder => stepBuilder(`cross_entropy:${output}`, (g, io, gradients, dtype) => crossEntropyStep(g, io, output, gradients, dtype));
export const contrastiveStepBuilder = (loss: ContrastiveLoss, tau: number): StepBuilder => stepBuilder(`contrastive:${loss}:${tau}`, (g, io, gradients, dtype) => contrastiveStep(g, io, loss, tau, gradients, dtype));

/**
 * One step of a group of heads as a graph: inputs x [K, B, D], the target (`y` or `t`) [K, B, ·], scale
 * and the stacked weights; outputs `loss` [K] and, with `gradients`, dW1, db1, dW2, db2 (stacked).
 */
export function stepGraph(step: StepBuilder, target: 'y' | 't', dims: MlpDims, gradients: boolean, dtype: FloatType = 'float32'): Uint8Array {
  const g = new GraphBuilder('train_step');
  g.input('x', dtype, ['heads', 'batch', dims.inputDim]);
  g.input(target, dtype, ['heads', 'batch', target === 'y' ? dims.outputDim : 'text_dim']);
  g.input('scale', dtype, []);
  weightInputs(g, dims, dtype);
  const v = step(g, TOP_IO(target), gradients, dtype);
  g.output(v.loss, dtype, ['heads']);
  for (const d of v.grads) g.output(d, dtype);
  return modelBytes(g, { opset: OPSET });
}

export function crossEntropyStepGraph(dims: MlpDims, output: CeOutput, gradients: boolean, dtype: FloatType = 'float32'): Uint8Array {
  return stepGraph(ceStepBuilder(output), 'y', dims, gradients, dtype);
}

export function contrastiveStepGraph(dims: MlpDims, loss: ContrastiveLoss, tau: number, gradients: boolean, dtype: FloatType = 'float32'): Uint8Array {
  return stepGraph(contrastiveStepBuilder(loss, tau), 't', dims, gradients, dtype);
}

/** Names of the Adam moment inputs/outputs of the loop graph: m_W1 ... v_b2. */
export const MOMENT_NAMES = [...WEIGHT_NAMES.map((n) => `m_${n}`), ...WEIGHT_NAMES.map((n) => `v_${n}`)];

/**
 * K training steps in one session.run: an ONNX Loop over K batches of B rows with weights and Adam
 * moments as loop-carried state, the Keras Adam update in the graph. Saves K-1 round trips through
 * JS (feeds, gradient output buffers, the typed-array Adam) per K steps.
 * Inputs: X [H, K·B, D], T [H, K·B, ·] (H heads; batch k = rows kB..kB+B of each head), `steps` (int64
 * K), `alphas` [K, H] (the bias-corrected step size lr·sqrt(1-β2^t)/(1-β1^t) of each step and head, from
 * the caller), scale, W1..b2, m_W1..v_b2 (stacked). Outputs W1_out..v_b2_out and `losses` [K, H].
 */
export function loopGraph(step: StepBuilder, target: 'y' | 't', dims: MlpDims, batch: number, adam: { beta1: number; beta2: number; epsilon: number }): Uint8Array {
  const state = [...WEIGHT_NAMES, ...MOMENT_NAMES];
  const body = new GraphBuilder('train_loop_body');
  const it = body.input('it', 'int64', []);
  body.input('cond_in', 'bool', []);
  const carried = state.map((n) => body.input(`in_${n}`));
  const cond = body.op('Identity', ['cond_in'], {}, 'cond_out');
  const start = body.op('Reshape', [body.op('Mul', [it, body.scalar(batch, 'int64')]), body.constant(BigInt64Array.of(1n))]);
  const end = body.op('Add', [start, body.constant(BigInt64Array.of(BigInt(batch)))]);
  const axis1 = body.constant(BigInt64Array.of(1n));
  const io: StepIO = {
    x: body.op('Slice', ['X', start, end, axis1]),
    target: body.op('Slice', ['T', start, end, axis1]),
    scale: 'scale',
    weights: carried.slice(0, 4),
  };
  const v = step(body, io, true, 'float32');
  // This step's alpha of every head, as [H, 1, 1] to broadcast over its stacked tensors.
  const alpha = body.op('Reshape', [body.op('Gather', ['alphas', it]), body.constant(BigInt64Array.of(-1n, 1n, 1n))]);
  const b1 = body.scalar(adam.beta1);
  const c1 = body.scalar(1 - adam.beta1);
  const b2 = body.scalar(adam.beta2);
  const c2 = body.scalar(1 - adam.beta2);
  const eps = body.scalar(adam.epsilon);
  const next = { w: [] as string[], m: [] as string[], v: [] as string[] };
  for (let k = 0; k < 4; k++) {
    const gk = v.grads[k];
    const m = body.op('Add', [body.op('Mul', [carried[4 + k], b1]), body.op('Mul', [gk, c1])], {}, `m_next_${k}`);
    const vv = body.op('Add', [body.op('Mul', [carried[8 + k], b2]), body.op('Mul', [body.op('Mul', [gk, gk]), c2])], {}, `v_next_${k}`);
    const w = body.op('Sub', [carried[k], body.op('Div', [body.op('Mul', [m, alpha]), body.op('Add', [body.op('Sqrt', [vv]), eps])])], {}, `w_next_${k}`);
    next.w.push(w);
    next.m.push(m);
    next.v.push(vv);
  }
  body.output(cond, 'bool', []);
  for (const n of [...next.w, ...next.m, ...next.v]) body.output(n, 'float32');
  body.output(body.op('Identity', [v.loss], {}, 'loss_out'), 'float32', ['heads']);

  const g = new GraphBuilder('train_loop');
  g.input('X', 'float32', ['heads', 'rows', dims.inputDim]);
  g.input('T', 'float32', ['heads', 'rows', target === 'y' ? dims.outputDim : 'text_dim']);
  g.input('steps', 'int64', []);
  g.input('alphas', 'float32', ['k', 'heads']);
  g.input('scale', 'float32', []);
  weightInputs(g, dims, 'float32');
  const shapes = stackedShapes(dims, 'heads');
  MOMENT_NAMES.forEach((n, k) => g.input(n, 'float32', shapes[k % 4]));
  const outs = g.opN('Loop', ['steps', '', ...state], [...state.map((n) => `${n}_out`), 'losses'], { body: { graph: body } });
  outs.forEach((o) => g.output(o, 'float32'));
  return modelBytes(g, { opset: OPSET });
}

/**
 * Inference graph of a group of K trained heads of one architecture, weights (stacked) as initialisers.
 * Input `x` [B, D], shared by every head; output `y` [K, B, ·]: class probabilities [B, C] per head for CE
 * heads (the sigmoid head's p is returned as [1 - p, p]), the L2-normalised image-side embedding [B, E]
 * for contrastive heads. One head's slice is the same whether it is evaluated alone or in a group.
 */
export function inferenceGraph(type: HeadType, ceOutput: CeOutput | null, dims: MlpDims, heads: readonly (readonly Float32Array[])[]): Uint8Array {
  const g = new GraphBuilder(`${type}_heads`);
  g.input('x', 'float32', ['batch', dims.inputDim]);
  const shapes = stackedShapes(dims, heads.length) as number[][];
  WEIGHT_NAMES.forEach((n, k) => g.initializer(n, stack(heads.map((w) => w[k])), shapes[k]));
  const m = mlpForward(g, 'x', WEIGHT_NAMES);
  if (type === 'contrastive') {
    g.op('Div', [m.z, rowNorm(g, m.z, g.scalar(1e-12))], {}, 'y');
  } else if (ceOutput === 'sigmoid') {
    const p = g.op('Sigmoid', [m.z]);
    g.op('Concat', [g.op('Sub', [g.scalar(1), p]), p], { axis: 2 }, 'y');
  } else {
    g.op('Softmax', [m.z], { axis: -1 }, 'y');
  }
  g.output('y', 'float32', [heads.length, 'batch', type === 'contrastive' ? dims.outputDim : ceOutput === 'sigmoid' ? 2 : dims.outputDim]);
  return modelBytes(g, { opset: OPSET });
}

function stack(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Cosine similarities x Pᵀ [B, M] of normalised rows x [B, E] with the prompt matrix Pᵀ [E, M]. */
export function similarityGraph(pt: Float32Array, e: number, m: number): Uint8Array {
  const g = new GraphBuilder('prompt_similarity');
  g.input('x', 'float32', ['batch', e]);
  g.op('MatMul', ['x', g.initializer('pt', pt, [e, m])], {}, 'sim');
  g.output('sim', 'float32', ['batch', m]);
  return modelBytes(g, { opset: OPSET });
}
