// Both passes of Pillow's bicubic resampler as WebAssembly SIMD functions, encoded by src/wasm/module.ts
// (why by hand: see there). They are
// the preprocessing's hottest loops (20 of ~31 ms per 1600x1200 image in JS, `bench/embed.ts --profile`):
// four samples are four i32x4 lanes, so a tap costs one load, one multiply and one add for them all, with
// the same wrapping int32 arithmetic as Pillow's C.
//
//   hpass(src, stride, rows, bounds, kk, kstride, outW, out: i32)   -- interleaved RGB only
// for each of `rows` rows at src + y·stride and each output column ox < outW, with xmin = bounds[2ox],
// n = bounds[2ox + 1] (i32) and the taps w = kk[ox·kstride/4 ..][0, n):
//   acc = ONE_HALF + sum_k pixel(xmin + k) · w_k   (R, G, B in three lanes)
//   out[3·(y·outW + ox) ..] = clip8(acc)           (arithmetic shift, then saturating narrows to 0..255)
//
//   vpass(src, rowLen, outH, bounds, kk, kstride, out: i32)        -- any channel count
// for each output row oy < outH (ymin = bounds[2oy], n = bounds[2oy + 1]) and each byte i < rowLen, 8 at
// a time: out[oy·rowLen + i] = clip8(ONE_HALF + sum_k src[(ymin + k)·rowLen + i] · w_k).
//
// Both read up to 8 bytes past their last sample and write up to 8 bytes past their last output (the
// overhang inside the output is rewritten by the next pixel or row): the caller leaves 8 bytes of slack.

import {
  BLOCK, BR, BR_IF, END, I32, I32_ADD, I32_CONST, I32_GE_U, instantiateKernels, kernelModuleBytes,
  LOCAL_GET, LOCAL_SET, LOOP, SIMD, sleb, V128, VOID,
} from '../wasm/module.js';

const I32_LOAD = 0x28;
const I32_STORE = 0x36;
const I32_MUL = 0x6c;
const I64_STORE = 0x37;
const V128_LOAD8X8_U = [SIMD, 0x02, 0, 0]; // memarg: align 1, offset 0 (pixels are byte-aligned)
const I32X4_SPLAT = [SIMD, 0x11];
const I32X4_EXTRACT_LANE_0 = [SIMD, 0x1b, 0];
const I8X16_NARROW_I16X8_U = [SIMD, 0x66];
const I16X8_NARROW_I32X4_S = [SIMD, 0x85, 0x01];
const I32X4_EXTEND_LOW_I16X8_U = [SIMD, 0xa9, 0x01];
const I32X4_EXTEND_HIGH_I16X8_U = [SIMD, 0xaa, 0x01];
const I64X2_EXTRACT_LANE_0 = [SIMD, 0x1d, 0];
const I32X4_SHR_S = [SIMD, 0xac, 0x01];
const I32X4_ADD = [SIMD, 0xae, 0x01];
const I32X4_MUL = [SIMD, 0xb5, 0x01];

/** Pillow's fixed point (resample.ts): 22 fractional bits, rounding by adding one half first. */
const PRECISION_BITS = 22;

const get = (l: number): number[] => [LOCAL_GET, l];
const set = (l: number): number[] => [LOCAL_SET, l];
const add = (l: number, n: number): number[] => [...get(l), I32_CONST, ...sleb(n), I32_ADD, ...set(l)];
/** Leaves the enclosing block when `l >= limit` (unsigned). */
const exitIfGe = (l: number, limit: number): number[] => [...get(l), ...get(limit), I32_GE_U, BR_IF, 1];

/** hpass locals: the 8 parameters, then the loop state. */
const [SRC, STRIDE, ROWS, BOUNDS, KK, KSTRIDE, OUTW, OUT] = [0, 1, 2, 3, 4, 5, 6, 7];
const [Y, OX, P, KP, KEND, ROW, BP, KB] = [8, 9, 10, 11, 12, 13, 14, 15];
const [ACC, HALF] = [16, 17];

function hpassBody(): number[] {
  return [
    // locals: 8 × i32, 2 × v128
    2, 8, I32, 2, V128,
    I32_CONST, ...sleb(1 << (PRECISION_BITS - 1)), ...I32X4_SPLAT, ...set(HALF),
    BLOCK, VOID, LOOP, VOID,
    ...exitIfGe(Y, ROWS),
    ...get(SRC), ...get(Y), ...get(STRIDE), I32_MUL, I32_ADD, ...set(ROW),
    ...get(BOUNDS), ...set(BP), ...get(KK), ...set(KB), I32_CONST, 0, ...set(OX),
    BLOCK, VOID, LOOP, VOID,
    ...exitIfGe(OX, OUTW),
    // p = row + 3·xmin; kp = kb; kend = kb + 4·n
    ...get(ROW), ...get(BP), I32_LOAD, 2, 0, I32_CONST, 3, I32_MUL, I32_ADD, ...set(P),
    ...get(KB), ...set(KP),
    ...get(KB), ...get(BP), I32_LOAD, 2, 4, I32_CONST, 4, I32_MUL, I32_ADD, ...set(KEND),
    ...get(HALF), ...set(ACC),
    BLOCK, VOID, LOOP, VOID,
    ...exitIfGe(KP, KEND),
    // acc += widen(pixel at p) · splat(kk at kp)
    ...get(ACC), ...get(P), ...V128_LOAD8X8_U, ...I32X4_EXTEND_LOW_I16X8_U,
    ...get(KP), I32_LOAD, 2, 0, ...I32X4_SPLAT, ...I32X4_MUL, ...I32X4_ADD, ...set(ACC),
    ...add(P, 3), ...add(KP, 4),
    BR, 0, END, END,
    // clip8 of the three lanes, stored as 4 bytes (the fourth is overwritten by the next pixel)
    ...get(OUT),
    ...get(ACC), I32_CONST, PRECISION_BITS, ...I32X4_SHR_S, ...set(ACC),
    ...get(ACC), ...get(ACC), ...I16X8_NARROW_I32X4_S, ...set(ACC),
    ...get(ACC), ...get(ACC), ...I8X16_NARROW_I16X8_U, ...I32X4_EXTRACT_LANE_0,
    I32_STORE, 0, 0,
    ...add(OUT, 3), ...add(BP, 8), ...get(KB), ...get(KSTRIDE), I32_ADD, ...set(KB), ...add(OX, 1),
    BR, 0, END, END,
    ...add(Y, 1),
    BR, 0, END, END,
    END,
  ];
}

/** vpass locals: the 7 parameters, then the loop state. */
const [V_SRC, V_ROWLEN, V_OUTH, V_BOUNDS, V_KK, V_KSTRIDE, V_OUT] = [0, 1, 2, 3, 4, 5, 6];
const [V_OY, V_I, V_P, V_KP, V_KEND, V_BASE, V_ROWOUT] = [7, 8, 9, 10, 11, 12, 13];
const [V_LO, V_HI, V_HALF, V_PX, V_W] = [14, 15, 16, 17, 18];

function vpassBody(): number[] {
  /** clip8 of a lane group: arithmetic shift by the precision (the narrows saturate to 0..255). */
  const shifted = (l: number): number[] => [...get(l), I32_CONST, PRECISION_BITS, ...I32X4_SHR_S];
  return [
    // locals: 7 × i32, 5 × v128
    2, 7, I32, 5, V128,
    I32_CONST, ...sleb(1 << (PRECISION_BITS - 1)), ...I32X4_SPLAT, ...set(V_HALF),
    BLOCK, VOID, LOOP, VOID,
    ...exitIfGe(V_OY, V_OUTH),
    // base = src + ymin·rowLen; kend = kk-row + 4·n; rowOut = out + oy·rowLen
    ...get(V_SRC), ...get(V_BOUNDS), I32_LOAD, 2, 0, ...get(V_ROWLEN), I32_MUL, I32_ADD, ...set(V_BASE),
    ...get(V_KK), ...get(V_BOUNDS), I32_LOAD, 2, 4, I32_CONST, 4, I32_MUL, I32_ADD, ...set(V_KEND),
    ...get(V_OUT), ...get(V_OY), ...get(V_ROWLEN), I32_MUL, I32_ADD, ...set(V_ROWOUT),
    I32_CONST, 0, ...set(V_I),
    BLOCK, VOID, LOOP, VOID,
    ...exitIfGe(V_I, V_ROWLEN),
    ...get(V_BASE), ...get(V_I), I32_ADD, ...set(V_P), ...get(V_KK), ...set(V_KP),
    ...get(V_HALF), ...set(V_LO), ...get(V_HALF), ...set(V_HI),
    BLOCK, VOID, LOOP, VOID,
    ...exitIfGe(V_KP, V_KEND),
    // 8 samples of row p widened to two i32x4, both times splat(w)
    ...get(V_P), ...V128_LOAD8X8_U, ...set(V_PX),
    ...get(V_KP), I32_LOAD, 2, 0, ...I32X4_SPLAT, ...set(V_W),
    ...get(V_LO), ...get(V_PX), ...I32X4_EXTEND_LOW_I16X8_U, ...get(V_W), ...I32X4_MUL, ...I32X4_ADD, ...set(V_LO),
    ...get(V_HI), ...get(V_PX), ...I32X4_EXTEND_HIGH_I16X8_U, ...get(V_W), ...I32X4_MUL, ...I32X4_ADD, ...set(V_HI),
    ...get(V_P), ...get(V_ROWLEN), I32_ADD, ...set(V_P), ...add(V_KP, 4),
    BR, 0, END, END,
    ...get(V_ROWOUT), ...get(V_I), I32_ADD,
    ...shifted(V_LO), ...shifted(V_HI), ...I16X8_NARROW_I32X4_S, ...set(V_PX),
    ...get(V_PX), ...get(V_PX), ...I8X16_NARROW_I16X8_U, ...I64X2_EXTRACT_LANE_0,
    I64_STORE, 0, 0,
    ...add(V_I, 8),
    BR, 0, END, END,
    ...get(V_BOUNDS), I32_CONST, 8, I32_ADD, ...set(V_BOUNDS),
    ...get(V_KK), ...get(V_KSTRIDE), I32_ADD, ...set(V_KK),
    ...add(V_OY, 1),
    BR, 0, END, END,
    END,
  ];
}

/** The module's bytes: imports memory `env.mem`, exports functions `hpass` and `vpass`. */
export function resampleModuleBytes(): Uint8Array<ArrayBuffer> {
  return kernelModuleBytes([
    { name: 'hpass', params: [I32, I32, I32, I32, I32, I32, I32, I32], body: hpassBody() },
    { name: 'vpass', params: [I32, I32, I32, I32, I32, I32, I32], body: vpassBody() },
  ]);
}

export interface ResampleKernels {
  hpass(src: number, stride: number, rows: number, bounds: number, kk: number, kstride: number, outW: number, out: number): void;
  vpass(src: number, rowLen: number, outH: number, bounds: number, kk: number, kstride: number, out: number): void;
}

/** Compiles the kernels against `memory` (synchronous: the module is well under 1 KB). */
export function resampleKernels(memory: WebAssembly.Memory): ResampleKernels {
  return instantiateKernels(resampleModuleBytes(), memory) as unknown as ResampleKernels;
}
