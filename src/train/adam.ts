// Adam as Keras implements it (the authors trained in Keras): the bias correction folds into the step
// size and epsilon is added to sqrt(v) uncorrected,
//   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g²;  w -= lr·sqrt(1-b2^t)/(1-b1^t) · m / (sqrt(v) + eps).
// (PyTorch adds eps to the corrected sqrt(v̂); the two differ only through eps.)
//
// Weights, moments and gradients live in one WebAssembly memory and the update is one SIMD pass over
// them (adam-kernel.ts): no copies, and the trainer hands the gradient views to onnxruntime as
// pre-allocated outputs, so a step's gradients land where the kernel reads them (bench/train.ts).

import { adamKernel, type AdamKernel } from './adam-kernel.js';

export interface AdamConfig {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
}

export const KERAS_ADAM: AdamConfig = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };

const PAGE = 65_536;

export class Adam {
  /** Weights, first and second moments, gradients: one view per tensor, in wasm memory. */
  readonly w: Float32Array[];
  readonly m: Float32Array[];
  readonly v: Float32Array[];
  readonly g: Float32Array[];
  /** Steps taken so far (the `t` of the bias correction); part of a checkpoint. */
  step = 0;
  private readonly kernel: AdamKernel;
  private readonly regionBytes: number;

  constructor(
    sizes: readonly number[],
    readonly config: AdamConfig = KERAS_ADAM,
  ) {
    // Each tensor starts on a 16-byte boundary; the padding stays zero (g = m = v = 0 leaves w = 0), so
    // the kernel can run over whole f32x4 vectors.
    const padded = sizes.map((n) => Math.ceil(n / 4) * 4);
    const region = padded.reduce((a, b) => a + b, 0);
    this.regionBytes = region * 4;
    // Fixed size: growing the memory would detach every view handed out below.
    const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil((4 * this.regionBytes) / PAGE)) });
    const views = (r: number): Float32Array[] => {
      let offset = r * region;
      return sizes.map((n, k) => {
        const view = new Float32Array(memory.buffer, offset * 4, n);
        offset += padded[k];
        return view;
      });
    };
    [this.w, this.m, this.v, this.g] = [views(0), views(1), views(2), views(3)];
    this.kernel = adamKernel(memory);
  }

  /** One step at learning rate `lr`: updates `w`, `m` and `v` in place from the gradients in `g`. */
  update(lr: number): void {
    this.step++;
    const { beta1, beta2, epsilon } = this.config;
    const alpha = (lr * Math.sqrt(1 - beta2 ** this.step)) / (1 - beta1 ** this.step);
    const r = this.regionBytes;
    this.kernel(0, r, 2 * r, 3 * r, r, alpha, beta1, 1 - beta1, beta2, 1 - beta2, epsilon);
  }
}
