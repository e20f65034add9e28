// Pillow-exact bicubic resampling of 8-bit interleaved images (a port of Pillow's Resample.c).
//
// Written here because no JS library reproduces Pillow: sharp/libvips uses other edge handling and
// interpolators when enlarging, and CLIP's published numbers come from Pillow. Every arithmetic step mirrors
// the C code (double-precision coefficients, 22-bit fixed point, horizontal pass first into an 8-bit
// intermediate, renormalised edge taps) so that the bytes match Pillow's exactly.

import { resampleKernels, type ResampleKernels } from './resample-kernel.js';

const PRECISION_BITS = 32 - 8 - 2;
const ONE_HALF = 1 << (PRECISION_BITS - 1);
const SCALE = 1 << PRECISION_BITS;
const BICUBIC_SUPPORT = 2;

/** Keys cubic convolution with a = -0.5 (Pillow's `bicubic_filter`). */
function bicubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

interface Coeffs {
  /** Taps per output sample (the widest window). */
  readonly ksize: number;
  /** Per output sample: first input index and number of taps. */
  readonly bounds: Int32Array;
  /** Fixed-point weights, `ksize` per output sample. */
  readonly kk: Int32Array;
}

/** Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for the full input range [0, inSize). */
function precompute(inSize: number, outSize: number): Coeffs {
  const scale = inSize / outSize;
  const filterscale = scale < 1 ? 1 : scale;
  const support = BICUBIC_SUPPORT * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = bicubic((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0 ? k[x] / ww : k[x];
      // C's (int) cast truncates toward zero after adding ±0.5: round half away from zero.
      kk[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * SCALE) : Math.trunc(0.5 + v * SCALE);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

// Datasets repeat a few sizes (WEBEmo is nearly all 220x147 / 146x220), so the tables are computed once per
// (input, output) pair; the bound keeps memory flat on a folder where every image has its own size.
const COEFF_CACHE_MAX = 256;
const coeffCache = new Map<string, Coeffs>();

function coeffs(inSize: number, outSize: number): Coeffs {
  const key = `${inSize}:${outSize}`;
  let c = coeffCache.get(key);
  if (!c) {
    if (coeffCache.size >= COEFF_CACHE_MAX) coeffCache.delete(coeffCache.keys().next().value!);
    coeffCache.set(key, (c = precompute(inSize, outSize)));
  }
  return c;
}

function clip8(v: number): number {
  if (v >= SCALE * 256) return 255;
  if (v <= 0) return 0;
  return v >> PRECISION_BITS;
}

/** An 8-bit image with `channels` interleaved samples per pixel, row-major. */
export interface Image8 {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly data: Uint8Array;
}

/** A window of the resized image (what the center crop keeps). */
export interface Box {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

// Both passes accumulate in int32 exactly as Pillow's C: 8-bit samples times 22-bit weights whose positive
// part sums to < 1.2 stay below 2^31 at every partial sum. They run as WebAssembly SIMD kernels
// (resample-kernel.ts) on copies of their input in the kernels' memory; the horizontal kernel handles
// interleaved RGB, the only layout CLIP sees, and other channel counts take a plain per-sample loop.

/** One kernel instance per thread, its memory grown to the largest image seen (never shrunk). */
let wasm: { readonly memory: WebAssembly.Memory; readonly kernels: ResampleKernels } | undefined;

/** 16-byte aligned offsets of the given region sizes in the kernels' memory, grown to fit them. */
function kernelLayout(...sizes: number[]): { kernels: ResampleKernels; bytes: Uint8Array; offsets: number[] } {
  if (!wasm) {
    const memory = new WebAssembly.Memory({ initial: 1 });
    wasm = { memory, kernels: resampleKernels(memory) };
  }
  const offsets: number[] = [];
  let end = 0;
  for (const size of sizes) {
    offsets.push(end);
    end += (size + 8 + 15) & ~15; // 8 bytes of slack: the kernel reads and writes past the last pixel
  }
  const have = wasm.memory.buffer.byteLength;
  if (end > have) wasm.memory.grow(Math.ceil((end - have) / 65536));
  return { kernels: wasm.kernels, bytes: new Uint8Array(wasm.memory.buffer), offsets };
}

/** Horizontal pass for output columns [x0, x0 + outW) over input rows [rowFirst, rowFirst + rows). */
function horizontal(src: Image8, c: Coeffs, x0: number, outW: number, rowFirst: number, rows: number): Image8 {
  const ch = src.channels;
  const { ksize, bounds, kk } = c;
  const stride = src.width * ch;
  if (ch === 3) {
    const win = bounds.subarray(x0 * 2, (x0 + outW) * 2);
    const taps = kk.subarray(x0 * ksize, (x0 + outW) * ksize);
    const outBytes = outW * rows * 3;
    const { kernels, bytes, offsets } = kernelLayout(win.byteLength, taps.byteLength, rows * stride, outBytes);
    const [bOff, kOff, sOff, oOff] = offsets;
    new Int32Array(bytes.buffer, bOff, win.length).set(win);
    new Int32Array(bytes.buffer, kOff, taps.length).set(taps);
    bytes.set(src.data.subarray(rowFirst * stride, (rowFirst + rows) * stride), sOff);
    kernels.hpass(sOff, stride, rows, bOff, kOff, ksize * 4, outW, oOff);
    return { width: outW, height: rows, channels: 3, data: bytes.slice(oOff, oOff + outBytes) };
  }
  const out = new Uint8Array(outW * rows * ch);
  const data = src.data;
  let o = 0;
  for (let y = 0; y < rows; y++) {
    const rowBase = (y + rowFirst) * stride;
    for (let xx = x0; xx < x0 + outW; xx++) {
      const kb = xx * ksize;
      const kEnd = kb + bounds[xx * 2 + 1];
      let p = rowBase + bounds[xx * 2] * ch;
      for (let i = 0; i < ch; i++, p++) {
        let acc = ONE_HALF;
        for (let k = kb, q = p; k < kEnd; k++, q += ch) acc = (acc + Math.imul(data[q], kk[k])) | 0;
        out[o++] = clip8(acc);
      }
    }
  }
  return { width: outW, height: rows, channels: ch, data: out };
}

/** Columns [x0, x0 + width) of rows [rowFirst, rowFirst + rows), unresampled. */
function window(src: Image8, x0: number, width: number, rowFirst: number, rows: number): Image8 {
  const ch = src.channels;
  const out = new Uint8Array(width * rows * ch);
  for (let y = 0; y < rows; y++) {
    const s = ((y + rowFirst) * src.width + x0) * ch;
    out.set(src.data.subarray(s, s + width * ch), y * width * ch);
  }
  return { width, height: rows, channels: ch, data: out };
}

/** Vertical pass for output rows [y0, y0 + outH); `src` holds input rows from `rowShift` on. */
function vertical(src: Image8, c: Coeffs, y0: number, outH: number, rowShift: number): Image8 {
  const rowLen = src.width * src.channels;
  const { ksize, bounds, kk } = c;
  // The kernel takes first-row indices relative to `src`.
  const win = bounds.slice(y0 * 2, (y0 + outH) * 2);
  for (let i = 0; i < win.length; i += 2) win[i] -= rowShift;
  const taps = kk.subarray(y0 * ksize, (y0 + outH) * ksize);
  const outBytes = rowLen * outH;
  const { kernels, bytes, offsets } = kernelLayout(win.byteLength, taps.byteLength, src.data.length, outBytes);
  const [bOff, kOff, sOff, oOff] = offsets;
  new Int32Array(bytes.buffer, bOff, win.length).set(win);
  new Int32Array(bytes.buffer, kOff, taps.length).set(taps);
  bytes.set(src.data, sOff);
  kernels.vpass(sOff, rowLen, outH, bOff, kOff, ksize * 4, oOff);
  return { width: src.width, height: outH, channels: src.channels, data: bytes.slice(oOff, oOff + outBytes) };
}

/**
 * `Image.resize((outW, outH), Image.BICUBIC)` of Pillow (no reducing_gap) on an 8-bit image, computing only
 * the pixels inside `box` (default: all). Every output pixel depends only on its own coordinates, so a
 * window is byte-identical to cropping the full resize, and the crop CLIP discards is never computed.
 */
export function resizeBicubic(src: Image8, outW: number, outH: number, box: Box = { left: 0, top: 0, width: outW, height: outH }): Image8 {
  if (outW < 1 || outH < 1) throw new Error(`resizeBicubic: output size ${outW}x${outH} must be positive`);
  if (box.left < 0 || box.top < 0 || box.width < 1 || box.height < 1 || box.left + box.width > outW || box.top + box.height > outH) {
    throw new Error(`resizeBicubic: window ${JSON.stringify(box)} is not inside ${outW}x${outH}`);
  }
  const needH = outW !== src.width;
  const needV = outH !== src.height;
  if (!needH && !needV && box.width === outW && box.height === outH) return src;
  const cv = needV ? coeffs(src.height, outH) : undefined;
  // The input rows the kept output rows read (like Pillow's ybox_first/ybox_last, for the window).
  const lastRow = box.top + box.height - 1;
  const first = cv ? cv.bounds[box.top * 2] : box.top;
  const last = cv ? cv.bounds[lastRow * 2] + cv.bounds[lastRow * 2 + 1] : lastRow + 1;
  const mid = needH
    ? horizontal(src, coeffs(src.width, outW), box.left, box.width, first, last - first)
    : window(src, box.left, box.width, first, last - first);
  return cv ? vertical(mid, cv, box.top, box.height, first) : mid;
}
