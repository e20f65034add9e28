// ONNX graphs of the two CLIP-E heads: forward pass, loss and hand-derived gradients in one graph per
// training step, plus the inference graphs that evaluation and `pipe predict` run.
//
// Shapes: x [B, D] image embeddings; W1 [D, H], b1 [H], W2 [H, K], b2 [K]; the MLP is
//   a1 = x W1 + b1;  h = relu(a1);  z = h W2 + b2.
// Its backward pass from dz (shared by both heads):
//   dW2 = hᵀ dz;  db2 = Σ_rows dz;  dh = dz W2ᵀ;  da1 = dh ⊙ [a1 > 0];  dW1 = xᵀ da1;  db1 = Σ_rows da1.
// `scale` (a graph input) is 1 for a summed loss and 1/B for a batch mean; it multiplies loss and gradients.
//
// Every graph is built for float32 (training) or float64 (the gradient checks in test/train/).
import { float, GraphBuilder, modelBytes, type DType } from '../onnx/builder.js';
import { GRAD_NAMES, WEIGHT_NAMES, type CeOutput, type ContrastiveLoss, type HeadType, type MlpDims } from './head-spec.js';

export { GRAD_NAMES, WEIGHT_NAMES, type CeOutput, type ContrastiveLoss, type HeadType, type MlpDims };
export type FloatType = 'float32' | 'float64';

const OPSET = 17;

function constant(g: GraphBuilder, v: number, dtype: FloatType): string {
  return g.constant(dtype === 'float64' ? Float64Array.of(v) : Float32Array.of(v), []);
}

function weightInputs(g: GraphBuilder, dims: MlpDims, dtype: DType): void {
  g.input('W1', dtype, [dims.inputDim, dims.hidden]);
  g.input('b1', dtype, [dims.hidden]);
  g.input('W2', dtype, [dims.hidden, dims.outputDim]);
  g.input('b2', dtype, [dims.outputDim]);
}

interface Mlp {
  readonly a1: string;
  readonly h: string;
  readonly z: string;
}

function mlpForward(g: GraphBuilder): Mlp {
  const a1 = g.op('Gemm', ['x', 'W1', 'b1']);
  const h = g.op('Relu', [a1]);
  const z = g.op('Gemm', [h, 'W2', 'b2']);
  return { a1, h, z };
}

/** Appends the MLP backward pass from `dz` and marks dW1, db1, dW2, db2 as outputs. */
function mlpBackward(g: GraphBuilder, m: Mlp, dz: string, dtype: FloatType): void {
  g.op('Gemm', [m.h, dz], { transA: 1 }, 'dW2');
  g.op('ReduceSum', [dz, g.constant(BigInt64Array.of(0n))], { keepdims: 0 }, 'db2');
  const dh = g.op('Gemm', [dz, 'W2'], { transB: 1 });
  const zero = constant(g, 0, dtype);
  const da1 = g.op('Where', [g.op('Greater', [m.a1, zero]), dh, zero]);
  g.op('Gemm', ['x', da1], { transA: 1 }, 'dW1');
  g.op('ReduceSum', [da1, g.constant(BigInt64Array.of(0n))], { keepdims: 0 }, 'db1');
  for (const name of GRAD_NAMES) g.output(name, dtype);
}

const sumAll = (g: GraphBuilder, v: string): string => g.op('ReduceSum', [v], { keepdims: 0 });
const sumAxis = (g: GraphBuilder, v: string, axis: number, keepdims: 0 | 1): string =>
  g.op('ReduceSum', [v, g.constant(BigInt64Array.of(BigInt(axis)))], { keepdims });

/** max(‖v_i‖, eps) per row as [B, 1] (torch `F.normalize`; the max only guards a zero row). */
const rowNorm = (g: GraphBuilder, v: string, eps: string): string =>
  g.op('Max', [g.op('Sqrt', [sumAxis(g, g.op('Mul', [v, v]), 1, 1)]), eps]);

/**
 * Cross-entropy head step. Inputs x, y (one-hot [B, C] for softmax; {0,1} as [B, 1] for the authors'
 * one-unit sigmoid head), scale, weights. Outputs `loss` (scale · Σ per-sample CE) and, when
 * `gradients`, dW1, db1, dW2, db2.
 *   softmax: ℓ = -Σ_c y_c log p_c,  dz = scale · (p - y)
 *   sigmoid: ℓ = softplus(z) - y z (computed as relu(z) - y z + log(1 + e^-|z|)),  dz = scale · (σ(z) - y)
 */
export function crossEntropyStepGraph(dims: MlpDims, output: CeOutput, gradients: boolean, dtype: FloatType = 'float32'): Uint8Array {
  const g = new GraphBuilder(`ce_${output}_step`);
  g.input('x', dtype, ['batch', dims.inputDim]);
  g.input('y', dtype, ['batch', dims.outputDim]);
  g.input('scale', dtype, []);
  weightInputs(g, dims, dtype);
  const m = mlpForward(g);
  let perSample: string;
  let residual: string;
  if (output === 'softmax') {
    const logp = g.op('LogSoftmax', [m.z], { axis: -1 });
    perSample = g.op('Neg', [g.op('Mul', ['y', logp])]);
    residual = g.op('Sub', [g.op('Exp', [logp]), 'y']);
  } else {
    const one = constant(g, 1, dtype);
    const softplus = g.op('Add', [g.op('Relu', [m.z]), g.op('Log', [g.op('Add', [one, g.op('Exp', [g.op('Neg', [g.op('Abs', [m.z])])])])])]);
    perSample = g.op('Sub', [softplus, g.op('Mul', ['y', m.z])]);
    residual = g.op('Sub', [g.op('Sigmoid', [m.z]), 'y']);
  }
  g.op('Mul', [sumAll(g, perSample), 'scale'], {}, 'loss');
  g.output('loss', dtype, []);
  if (gradients) mlpBackward(g, m, g.op('Mul', [residual, 'scale']), dtype);
  return modelBytes(g, { opset: OPSET });
}

/**
 * Contrastive head step over B (image, text) pairs. Inputs x [B, D], t [B, E] (frozen CLIP text
 * embeddings, L2-normalised by the caller), scale, weights. With u = mlp(x), I = u/‖u‖ (rows), T = t:
 *   L = T Iᵀ / τ;  P = softmax_rows(L);  Q = softmax_cols(L)
 *   soft (authors' code): S = softmax_rows((T Tᵀ + I Iᵀ) / 2τ);  hard (CLIP InfoNCE): S = identity
 *   loss = scale · ½ Σ_ij S_ij (-log P_ij - log Q_ij)
 * (the authors' per-pair loss ½[CE(S_i·, L_i·) + CE(Sᵀ_i·, Lᵀ_i·)], summed over the batch). Gradients:
 *   dL = scale · ½[(P - S) + Q ⊙ colsum(S) - S]                       (rows of S sum to 1)
 *   soft only, through the targets (Keras differentiates them too; no stop-gradient in their code):
 *     dS = -scale · ½(log P + log Q);  dA = S ⊙ (dS - rowsum(S ⊙ dS));  dI += (dA + dAᵀ) I / 2τ
 *   dI += dLᵀ T / τ;  du = (dI - I ⊙ rowsum(dI ⊙ I)) / ‖u‖;  then the MLP backward pass from du.
 */
export function contrastiveStepGraph(dims: MlpDims, loss: ContrastiveLoss, tau: number, gradients: boolean, dtype: FloatType = 'float32'): Uint8Array {
  const g = new GraphBuilder(`contrastive_${loss}_step`);
  g.input('x', dtype, ['batch', dims.inputDim]);
  g.input('t', dtype, ['batch', dims.outputDim]);
  g.input('scale', dtype, []);
  weightInputs(g, dims, dtype);
  const m = mlpForward(g);
  const norm = rowNorm(g, m.z, constant(g, 1e-12, dtype));
  const I = g.op('Div', [m.z, norm]);
  const L = g.op('Gemm', ['t', I], { transB: 1, alpha: float(1 / tau) });
  const logP = g.op('LogSoftmax', [L], { axis: 1 });
  const logQ = g.op('LogSoftmax', [L], { axis: 0 });
  const S = loss === 'soft'
    ? g.op('Softmax', [g.op('Add', [
        g.op('Gemm', ['t', 't'], { transB: 1, alpha: float(1 / (2 * tau)) }),
        g.op('Gemm', [I, I], { transB: 1, alpha: float(1 / (2 * tau)) }),
      ])], { axis: 1 })
    : g.op('EyeLike', [L]);
  const half = constant(g, 0.5, dtype);
  const halfScale = g.op('Mul', ['scale', half]);
  const logPQ = g.op('Add', [logP, logQ]);
  g.op('Mul', [g.op('Neg', [sumAll(g, g.op('Mul', [S, logPQ]))]), halfScale], {}, 'loss');
  g.output('loss', dtype, []);
  if (gradients) {
    const P = g.op('Exp', [logP]);
    const Q = g.op('Exp', [logQ]);
    const dLraw = g.op('Sub', [g.op('Add', [P, g.op('Mul', [Q, sumAxis(g, S, 0, 1)])]), g.op('Add', [S, S])]);
    const dL = g.op('Mul', [dLraw, halfScale]);
    let dI = g.op('Gemm', [dL, 't'], { transA: 1, alpha: float(1 / tau) });
    if (loss === 'soft') {
      const dS = g.op('Neg', [g.op('Mul', [logPQ, halfScale])]);
      const dA = g.op('Mul', [S, g.op('Sub', [dS, sumAxis(g, g.op('Mul', [S, dS]), 1, 1)])]);
      const dAsym = g.op('Add', [dA, g.op('Transpose', [dA], { perm: [1, 0] })]);
      dI = g.op('Add', [dI, g.op('Gemm', [dAsym, I], { alpha: float(1 / (2 * tau)) })]);
    }
    const du = g.op('Div', [g.op('Sub', [dI, g.op('Mul', [I, sumAxis(g, g.op('Mul', [dI, I]), 1, 1)])]), norm]);
    mlpBackward(g, m, du, dtype);
  }
  return modelBytes(g, { opset: OPSET });
}

/**
 * Inference graph of a trained head, weights as initialisers. Input `x` [B, D]; output `y`:
 * class probabilities [B, C] for a CE head (the sigmoid head's p is returned as [1 - p, p]), the
 * L2-normalised image-side embedding [B, E] for a contrastive head.
 */
export function inferenceGraph(type: HeadType, ceOutput: CeOutput | null, dims: MlpDims, weights: readonly Float32Array[]): Uint8Array {
  const g = new GraphBuilder(`${type}_head`);
  g.input('x', 'float32', ['batch', dims.inputDim]);
  const shapes = [[dims.inputDim, dims.hidden], [dims.hidden], [dims.hidden, dims.outputDim], [dims.outputDim]];
  WEIGHT_NAMES.forEach((n, k) => g.initializer(n, weights[k], shapes[k]));
  const m = mlpForward(g);
  if (type === 'contrastive') {
    g.op('Div', [m.z, rowNorm(g, m.z, g.scalar(1e-12))], {}, 'y');
  } else if (ceOutput === 'sigmoid') {
    const p = g.op('Sigmoid', [m.z]);
    g.op('Concat', [g.op('Sub', [g.scalar(1), p]), p], { axis: 1 }, 'y');
  } else {
    g.op('Softmax', [m.z], { axis: -1 }, 'y');
  }
  g.output('y', 'float32', ['batch', type === 'contrastive' ? dims.outputDim : ceOutput === 'sigmoid' ? 2 : dims.outputDim]);
  return modelBytes(g, { opset: OPSET });
}

/** Cosine similarities x Pᵀ [B, M] of normalised rows x [B, E] with the prompt matrix Pᵀ [E, M]. */
export function similarityGraph(pt: Float32Array, e: number, m: number): Uint8Array {
  const g = new GraphBuilder('prompt_similarity');
  g.input('x', 'float32', ['batch', e]);
  g.op('MatMul', ['x', g.initializer('pt', pt, [e, m])], {}, 'sim');
  g.output('sim', 'float32', ['batch', m]);
  return modelBytes(g, { opset: OPSET });
}
