// The Keras Adam update as one WebAssembly SIMD function. V8 runs the typed-array loop with scalar
// double sqrt and div (~4-7 ns per parameter, bench/train.ts); f32x4.sqrt and f32x4.div are pipelined four
// lanes at a time and the arithmetic is float32 like Keras and the ONNX Loop graph. The module is encoded
// by src/wasm/module.ts (why by hand: see there).
//
//   adam(w, m, v, g, bytes: i32, alpha, b1, c1, b2, c2, eps: f32)
// for every f32x4 at byte offset i < bytes of the four regions of the imported memory `env.mem` (aligned
// or not: wasm alignment is a hint; adam.ts runs it over a head's part of a stacked tensor):
//   m = b1·m + c1·g;  v = b2·v + (g·g)·c2;  w = w - (m·alpha) / (sqrt(v) + eps)
// (the operation order of graphs.ts' Loop body, so the two paths round alike).
import {
  BLOCK, BR, BR_IF, END, F32, I32, I32_ADD, I32_CONST, I32_GE_U, instantiateKernels, kernelModuleBytes,
  LOCAL_GET, LOCAL_SET, LOCAL_TEE, LOOP, SIMD, V128, VOID,
} from '../wasm/module.js';

/** SIMD sub-opcodes (LEB128-encoded after the 0xfd prefix). */
const V128_LOAD = [SIMD, 0x00, 4, 0]; // memarg: align 2^4, offset 0
const V128_STORE = [SIMD, 0x0b, 4, 0];
const F32X4_SPLAT = [SIMD, 0x13];
const F32X4_SQRT = [SIMD, 0xe3, 0x01];
const F32X4_ADD = [SIMD, 0xe4, 0x01];
const F32X4_SUB = [SIMD, 0xe5, 0x01];
const F32X4_MUL = [SIMD, 0xe6, 0x01];
const F32X4_DIV = [SIMD, 0xe7, 0x01];

/** Local indices: the 11 parameters, then i and the vectors. */
const [W, M, V, G, BYTES, ALPHA, B1, C1, B2, C2, EPS] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const I = 11;
const [GV, MV, VV, ALPHA4, B1_4, C1_4, B2_4, C2_4, EPS4] = [12, 13, 14, 15, 16, 17, 18, 19, 20];

const get = (l: number): number[] => [LOCAL_GET, l];
/** The address `base + i` of the current vector. */
const at = (base: number): number[] => [...get(base), ...get(I), I32_ADD];
const load = (base: number): number[] => [...at(base), ...V128_LOAD];

function body(): number[] {
  const splat = (from: number, to: number): number[] => [...get(from), ...F32X4_SPLAT, LOCAL_SET, to];
  return [
    // locals: 1 × i32 (i), 9 × v128
    2, 1, I32, 9, V128,
    ...splat(ALPHA, ALPHA4), ...splat(B1, B1_4), ...splat(C1, C1_4), ...splat(B2, B2_4), ...splat(C2, C2_4), ...splat(EPS, EPS4),
    BLOCK, VOID, LOOP, VOID,
    ...get(I), ...get(BYTES), I32_GE_U, BR_IF, 1,
    ...load(G), LOCAL_SET, GV,
    // m = b1·m + c1·g
    ...at(M), ...get(B1_4), ...load(M), ...F32X4_MUL, ...get(C1_4), ...get(GV), ...F32X4_MUL, ...F32X4_ADD, LOCAL_TEE, MV, ...V128_STORE,
    // v = b2·v + (g·g)·c2
    ...at(V), ...get(B2_4), ...load(V), ...F32X4_MUL, ...get(GV), ...get(GV), ...F32X4_MUL, ...get(C2_4), ...F32X4_MUL, ...F32X4_ADD, LOCAL_TEE, VV, ...V128_STORE,
    // w = w - (m·alpha) / (sqrt(v) + eps)
    ...at(W), ...load(W), ...get(MV), ...get(ALPHA4), ...F32X4_MUL, ...get(VV), ...F32X4_SQRT, ...get(EPS4), ...F32X4_ADD, ...F32X4_DIV, ...F32X4_SUB, ...V128_STORE,
    // i += 16
    ...get(I), I32_CONST, 16, I32_ADD, LOCAL_SET, I,
    BR, 0, END, END, END,
  ];
}

/** The module's bytes: imports memory `env.mem` (at least one page), exports function `adam`. */
export function adamModuleBytes(): Uint8Array<ArrayBuffer> {
  return kernelModuleBytes([{ name: 'adam', params: [I32, I32, I32, I32, I32, F32, F32, F32, F32, F32, F32], body: body() }]);
}

export type AdamKernel = (w: number, m: number, v: number, g: number, bytes: number, alpha: number, b1: number, c1: number, b2: number, c2: number, eps: number) => void;

/** Compiles the kernel against `memory` (synchronously: the module is 250 bytes). */
export function adamKernel(memory: WebAssembly.Memory): AdamKernel {
  return instantiateKernels(adamModuleBytes(), memory).adam as AdamKernel;
}
