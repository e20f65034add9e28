// Pillow-exact bicubic resampling of 8-bit interleaved images (a port of Pillow's Resample.c).
//
// Written here because no JS library reproduces Pillow: sharp/libvips uses other edge handling and
// interpolators when enlarging, and CLIP's published numbers come from Pillow. Every arithmetic step mirrors
// the C code (double-precision coefficients, 22-bit fixed point, horizontal pass first into an 8-bit
// intermediate, renormalised edge taps) so that the bytes match Pillow's exactly.

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

/** Horizontal pass for output columns [x0, x0 + outW) over input rows [rowFirst, rowFirst + rows). */
function horizontal(src: Image8, c: Coeffs, x0: number, outW: number, rowFirst: number, rows: number): Image8 {
  const ch = src.channels;
  const out = new Uint8Array(outW * rows * ch);
  const { ksize, bounds, kk } = c;
  const data = src.data;
  for (let y = 0; y < rows; y++) {
    const rowBase = (y + rowFirst) * src.width * ch;
    for (let ox = 0; ox < outW; ox++) {
      const xx = ox + x0;
      const xmin = bounds[xx * 2];
      const xmax = bounds[xx * 2 + 1];
      const kb = xx * ksize;
      const o = (y * outW + ox) * ch;
      if (ch === 3) {
        // The hot path (RGB): scalar int32 accumulators, as in Pillow's C. Exact: 8-bit samples times
        // 22-bit weights whose positive part sums to < 1.2 stay below 2^31 at every partial sum.
        let a0 = ONE_HALF, a1 = ONE_HALF, a2 = ONE_HALF;
        let p = rowBase + xmin * 3;
        for (let x = 0; x < xmax; x++, p += 3) {
          const w = kk[kb + x];
          a0 = (a0 + Math.imul(data[p], w)) | 0;
          a1 = (a1 + Math.imul(data[p + 1], w)) | 0;
          a2 = (a2 + Math.imul(data[p + 2], w)) | 0;
        }
        out[o] = clip8(a0);
        out[o + 1] = clip8(a1);
        out[o + 2] = clip8(a2);
        continue;
      }
      for (let i = 0; i < ch; i++) {
        let acc = ONE_HALF;
        for (let x = 0; x < xmax; x++) acc = (acc + Math.imul(data[rowBase + (x + xmin) * ch + i], kk[kb + x])) | 0;
        out[o + i] = clip8(acc);
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
  const ch = src.channels;
  const rowLen = src.width * ch;
  const out = new Uint8Array(rowLen * outH);
  const { ksize, bounds, kk } = c;
  const acc = new Int32Array(rowLen);
  const data = src.data;
  for (let oy = 0; oy < outH; oy++) {
    const yy = oy + y0;
    const ymin = bounds[yy * 2] - rowShift;
    const ymax = bounds[yy * 2 + 1];
    const kb = yy * ksize;
    acc.fill(ONE_HALF);
    // Row-at-a-time int32 accumulation: the same exact sums as Pillow's per-pixel loop, cache friendly.
    for (let y = 0; y < ymax; y++) {
      const wgt = kk[kb + y];
      const base = (y + ymin) * rowLen;
      for (let i = 0; i < rowLen; i++) acc[i] = (acc[i] + Math.imul(data[base + i], wgt)) | 0;
    }
    const o = oy * rowLen;
    for (let i = 0; i < rowLen; i++) out[o + i] = clip8(acc[i]);
  }
  return { width: src.width, height: outH, channels: ch, data: out };
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
  const cv = needV ? precompute(src.height, outH) : undefined;
  // The input rows the kept output rows read (like Pillow's ybox_first/ybox_last, for the window).
  const lastRow = box.top + box.height - 1;
  const first = cv ? cv.bounds[box.top * 2] : box.top;
  const last = cv ? cv.bounds[lastRow * 2] + cv.bounds[lastRow * 2 + 1] : lastRow + 1;
  const mid = needH
    ? horizontal(src, precompute(src.width, outW), box.left, box.width, first, last - first)
    : window(src, box.left, box.width, first, last - first);
  return cv ? vertical(mid, cv, box.top, box.height, first) : mid;
}
