// The wasm SIMD Adam (src/train/adam-kernel.ts) against the Keras update written out in scalar float32
// (Math.fround after every operation, in the kernel's operation order): the two must agree bit for bit,
// including tensors whose length is not a multiple of 4 (the kernel runs over zero padding).
import { describe, expect, it } from 'vitest';
import { Adam, KERAS_ADAM } from '../../src/train/adam.js';
import { adamModuleBytes } from '../../src/train/adam-kernel.js';
import { Rng } from '../../src/train/rng.js';

const f = Math.fround;

function reference(w: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, step: number, lr: number): void {
  const { beta1, beta2, epsilon } = KERAS_ADAM;
  const alpha = f((lr * Math.sqrt(1 - beta2 ** step)) / (1 - beta1 ** step));
  const [b1, c1, b2, c2, eps] = [beta1, 1 - beta1, beta2, 1 - beta2, epsilon].map(f);
  for (let i = 0; i < w.length; i++) {
    m[i] = f(f(b1 * m[i]) + f(c1 * g[i]));
    v[i] = f(f(b2 * v[i]) + f(f(g[i] * g[i]) * c2));
    w[i] = f(w[i] - f(f(m[i] * alpha) / f(f(Math.sqrt(v[i])) + eps)));
  }
}

describe('wasm SIMD Adam', () => {
  it('is a valid module', () => {
    expect(WebAssembly.validate(adamModuleBytes())).toBe(true);
  });

  it('matches the scalar float32 Keras update bit for bit over 50 steps, odd tensor sizes included', () => {
    const sizes = [37, 6, 1, 4096, 5];
    const rng = new Rng(1, 'adam-test');
    const adam = new Adam(sizes);
    const ref = sizes.map((n) => ({ w: new Float32Array(n), m: new Float32Array(n), v: new Float32Array(n) }));
    sizes.forEach((n, k) => {
      for (let i = 0; i < n; i++) adam.w[k][i] = ref[k].w[i] = rng.next() * 2 - 1;
    });
    for (let step = 1; step <= 50; step++) {
      const lr = step > 25 ? 1e-4 : 1e-3;
      sizes.forEach((n, k) => {
        for (let i = 0; i < n; i++) adam.g[k][i] = (rng.next() - 0.5) * 10 ** -(i % 4);
      });
      adam.update(lr);
      sizes.forEach((_, k) => reference(ref[k].w, ref[k].m, ref[k].v, adam.g[k], step, lr));
    }
    expect(adam.steps[0]).toBe(50);
    sizes.forEach((_, k) => {
      expect(Array.from(adam.w[k])).toEqual(Array.from(ref[k].w));
      expect(Array.from(adam.m[k])).toEqual(Array.from(ref[k].m));
      expect(Array.from(adam.v[k])).toEqual(Array.from(ref[k].v));
    });
  });
});
