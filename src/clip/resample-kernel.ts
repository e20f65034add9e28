// The horizontal pass of Pillow's bicubic resampler on interleaved RGB as one WebAssembly SIMD function,
// encoded here byte by byte (as src/train/adam-kernel.ts does, for the same reason: one small function does
// not justify a toolchain or a generated binary in the repository; format:
// https://webassembly.github.io/spec/core/binary/). It is the preprocessing's hottest loop (16 of ~31 ms
// per 1600x1200 image in JS, `bench/embed.ts --profile`): one pixel's R, G, B are three i32x4 lanes, so a
// tap is one load, one multiply and one add instead of three of each plus bounds checks.
//
//   hpass(src, stride, rows, bounds, kk, kstride, outW, out: i32)
// for each of `rows` rows at src + y·stride and each output column ox < outW, with xmin = bounds[2ox],
// n = bounds[2ox + 1] (i32) and the taps w = kk[ox·kstride/4 ..][0, n):
//   acc = ONE_HALF + sum_k pixel(xmin + k) · w_k   (i32 lanes, wrapping like Pillow's int32 C)
//   out[3·(y·outW + ox) ..] = clip8(acc)           (arithmetic shift, then saturating narrows to 0..255)
// Reads 8 bytes per tap and writes 4 bytes per pixel: the caller leaves 8 bytes of slack after both.

const I32 = 0x7f;
const V128 = 0x7b;
const BLOCK = 0x02;
const LOOP = 0x03;
const END = 0x0b;
const BR = 0x0c;
const BR_IF = 0x0d;
const VOID = 0x40;
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const I32_CONST = 0x41;
const I32_LOAD = 0x28;
const I32_STORE = 0x36;
const I32_GE_U = 0x4f;
const I32_ADD = 0x6a;
const I32_MUL = 0x6c;
const SIMD = 0xfd;
const V128_LOAD8X8_U = [SIMD, 0x02, 0, 0]; // memarg: align 1, offset 0 (pixels are byte-aligned)
const I32X4_SPLAT = [SIMD, 0x11];
const I32X4_EXTRACT_LANE_0 = [SIMD, 0x1b, 0];
const I8X16_NARROW_I16X8_U = [SIMD, 0x66];
const I16X8_NARROW_I32X4_S = [SIMD, 0x85, 0x01];
const I32X4_EXTEND_LOW_I16X8_U = [SIMD, 0xa9, 0x01];
const I32X4_SHR_S = [SIMD, 0xac, 0x01];
const I32X4_ADD = [SIMD, 0xae, 0x01];
const I32X4_MUL = [SIMD, 0xb5, 0x01];

/** Pillow's fixed point (resample.ts): 22 fractional bits, rounding by adding one half first. */
const PRECISION_BITS = 22;

/** Locals: the 8 parameters, then the loop state. */
const [SRC, STRIDE, ROWS, BOUNDS, KK, KSTRIDE, OUTW, OUT] = [0, 1, 2, 3, 4, 5, 6, 7];
const [Y, OX, P, KP, KEND, ROW, BP, KB] = [8, 9, 10, 11, 12, 13, 14, 15];
const [ACC, HALF] = [16, 17];

/** Signed LEB128 (i32.const immediates). */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(byte & 0x40)) || (n === -1 && byte & 0x40)) return [...out, byte];
    out.push(byte | 0x80);
  }
}

/** Unsigned LEB128 (section and body sizes). */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

const get = (l: number): number[] => [LOCAL_GET, l];
const set = (l: number): number[] => [LOCAL_SET, l];
const add = (l: number, n: number): number[] => [...get(l), I32_CONST, ...sleb(n), I32_ADD, ...set(l)];
/** Leaves the enclosing block when `l >= limit` (unsigned). */
const exitIfGe = (l: number, limit: number): number[] => [...get(l), ...get(limit), I32_GE_U, BR_IF, 1];

function body(): number[] {
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

const name = (s: string): number[] => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
const section = (id: number, content: number[]): number[] => [id, ...uleb(content.length), ...content];

/** The module's bytes: imports memory `env.mem`, exports function `hpass`. */
export function hpassModuleBytes(): Uint8Array<ArrayBuffer> {
  const code = body();
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 8, I32, I32, I32, I32, I32, I32, I32, I32, 0]),
    ...section(2, [1, ...name('env'), ...name('mem'), 0x02, 0x00, 0x01]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name('hpass'), 0x00, 0]),
    ...section(10, [1, ...uleb(code.length), ...code]),
  ]);
}

export type HpassKernel = (src: number, stride: number, rows: number, bounds: number, kk: number, kstride: number, outW: number, out: number) => void;

/** Compiles the kernel against `memory` (synchronous: the module is a few hundred bytes). */
export function hpassKernel(memory: WebAssembly.Memory): HpassKernel {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(hpassModuleBytes()), { env: { mem: memory } });
  return instance.exports.hpass as HpassKernel;
}
