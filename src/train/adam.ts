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

/** Math.fround: a float32 operation, rounded as WebAssembly's f32 arithmetic rounds it. */
const f = Math.fround;

/**
 * Adam over a group of heads: tensor k of every head is stacked, head j's part being elements
 * [j·n_k, (j+1)·n_k) of `w[k]` (and of `m`, `v`, `g`), the layout onnxruntime reads and writes as
 * [heads, ...]. Each head keeps its own step count and learning rate.
 */
export class Adam {
  /** Weights, first and second moments, gradients: one stacked view per tensor, in wasm memory. */
  readonly w: Float32Array[];
  readonly m: Float32Array[];
  readonly v: Float32Array[];
  readonly g: Float32Array[];
  /** Steps each head has taken (the `t` of its bias correction); part of its checkpoint. */
  readonly steps: number[];
  private readonly kernel: AdamKernel;

  constructor(
    private readonly sizes: readonly number[],
    readonly config: AdamConfig = KERAS_ADAM,
    readonly heads = 1,
  ) {
    // Each stacked tensor starts on a 16-byte boundary.
    const padded = sizes.map((n) => Math.ceil((n * heads) / 4) * 4);
    const region = padded.reduce((a, b) => a + b, 0);
    // Fixed size: growing the memory would detach every view handed out below.
    const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil((16 * region) / PAGE)) });
    const views = (r: number): Float32Array[] => {
      let offset = r * region;
      return sizes.map((n, k) => {
        const view = new Float32Array(memory.buffer, offset * 4, n * heads);
        offset += padded[k];
        return view;
      });
    };
    [this.w, this.m, this.v, this.g] = [views(0), views(1), views(2), views(3)];
    this.steps = new Array<number>(heads).fill(0);
    this.kernel = adamKernel(memory);
  }

  /**
   * One step of head `head` at learning rate `lr`: updates its part of `w`, `m` and `v` in place from its
   * gradients in `g`. The kernel runs over whole f32x4 vectors (a head's part may start unaligned: wasm
   * alignment is a hint); the last n mod 4 elements go through the same float32 operations in JS, which
   * round exactly alike (float64 results of float32 operands rounded once to float32 are correctly rounded
   * for + - × ÷ √), so a head's update does not depend on its place in the group.
   */
  update(lr: number, head = 0): void {
    const t = ++this.steps[head];
    const { beta1, beta2, epsilon } = this.config;
    const alpha = (lr * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t);
    this.sizes.forEach((n, k) => {
      const from = head * n;
      const vectors = n & ~3;
      const at = (a: Float32Array): number => a.byteOffset + from * 4;
      if (vectors > 0) this.kernel(at(this.w[k]), at(this.m[k]), at(this.v[k]), at(this.g[k]), vectors * 4, alpha, beta1, 1 - beta1, beta2, 1 - beta2, epsilon);
      this.tail(k, from + vectors, from + n, alpha);
    });
  }

  private tail(k: number, from: number, to: number, alpha: number): void {
    const [w, m, v, g] = [this.w[k], this.m[k], this.v[k], this.g[k]];
    const { beta1, beta2, epsilon } = this.config;
    const [a, b1, c1, b2, c2, eps] = [alpha, beta1, 1 - beta1, beta2, 1 - beta2, epsilon].map(f);
    for (let i = from; i < to; i++) {
      m[i] = f(f(b1 * m[i]) + f(c1 * g[i]));
      v[i] = f(f(b2 * v[i]) + f(f(g[i] * g[i]) * c2));
      w[i] = f(w[i] - f(f(m[i] * a) / f(f(Math.sqrt(v[i])) + eps)));
    }
  }

  /** Head j's part of stacked tensor `t` (a view). */
  part(t: Float32Array, k: number, head: number): Float32Array {
    return this.parts(t, k, head, head + 1);
  }

  /** The parts of heads [from, to) of stacked tensor `t`: one view, stacked the same way. */
  parts(t: Float32Array, k: number, from: number, to: number): Float32Array {
    return t.subarray(from * this.sizes[k], to * this.sizes[k]);
  }
}
