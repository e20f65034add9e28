// Adam as Keras implements it (the authors trained in Keras): the bias correction folds into the step
// size and epsilon is added to sqrt(v) uncorrected,
//   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g²;  w -= lr·sqrt(1-b2^t)/(1-b1^t) · m / (sqrt(v) + eps).
// (PyTorch adds eps to the corrected sqrt(v̂); the two differ only through eps.)
//
// A fused typed-array loop rather than ONNX ops: one pass over w, m, v and g per step instead of a dozen
// elementwise kernels each streaming the ~525k parameters through memory (measured in bench/train.ts).

export interface AdamConfig {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
}

export const KERAS_ADAM: AdamConfig = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };

export class Adam {
  readonly m: Float32Array[];
  readonly v: Float32Array[];
  /** Steps taken so far (the `t` of the bias correction); part of a checkpoint. */
  step = 0;

  constructor(
    sizes: readonly number[],
    readonly config: AdamConfig = KERAS_ADAM,
  ) {
    this.m = sizes.map((n) => new Float32Array(n));
    this.v = sizes.map((n) => new Float32Array(n));
  }

  /** Updates every `weights[k]` in place from `grads[k]` at learning rate `lr`. */
  update(weights: readonly Float32Array[], grads: readonly Float32Array[], lr: number): void {
    this.step++;
    const { beta1, beta2, epsilon } = this.config;
    const alpha = (lr * Math.sqrt(1 - beta2 ** this.step)) / (1 - beta1 ** this.step);
    const c1 = 1 - beta1;
    const c2 = 1 - beta2;
    for (let k = 0; k < weights.length; k++) {
      const w = weights[k];
      const g = grads[k];
      const m = this.m[k];
      const v = this.v[k];
      for (let i = 0; i < w.length; i++) {
        const gi = g[i];
        const mi = beta1 * m[i] + c1 * gi;
        const vi = beta2 * v[i] + c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        w[i] -= (alpha * mi) / (Math.sqrt(vi) + epsilon);
      }
    }
  }
}
