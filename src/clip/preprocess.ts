// CLIP image preprocessing as Hugging Face's CLIPImageProcessor does it with Pillow: shortest side to
// `size` with bicubic, floor center crop, rescale, normalise, CHW float32.
import { resizeBicubic, type Image8 } from './resample.js';

/** Part of every image cache key: bump when any step below changes its output. */
// v2: decoding follows PIL for ICC-tagged images (profile ignored), GIF transparency, BMP and ICO.
export const PREPROCESS_VERSION = 'pil-bicubic-v2';

export interface PreprocessConfig {
  /** Shortest side after resizing (0 = no resize). */
  readonly shortestEdge: number;
  readonly cropHeight: number;
  readonly cropWidth: number;
  /** 0 = no rescale (multiply by 1). */
  readonly rescaleFactor: number;
  /** Per-channel mean/std; mean 0 and std 1 when do_normalize is false. */
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

export class PreprocessConfigError extends Error {
  override readonly name = 'PreprocessConfigError';
}

type Obj = Record<string, unknown>;

function num(o: Obj, key: string, fallback?: number): number {
  const v = o[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new PreprocessConfigError(`field "${key}" must be a number, found ${JSON.stringify(o[key])}`);
  return v;
}

function triple(o: Obj, key: string): [number, number, number] {
  const v = o[key];
  if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number')) {
    throw new PreprocessConfigError(`field "${key}" must be a list of 3 numbers, found ${JSON.stringify(v)}`);
  }
  return [v[0], v[1], v[2]];
}

/** `size`/`crop_size` appear as an int, `{shortest_edge}`, or `{height, width}` across HF versions. */
function sizeField(o: Obj, key: string): { shortest?: number; height?: number; width?: number } {
  const v = o[key];
  if (typeof v === 'number') return { shortest: v, height: v, width: v };
  if (v && typeof v === 'object') {
    const s = v as Obj;
    return {
      shortest: typeof s.shortest_edge === 'number' ? s.shortest_edge : undefined,
      height: typeof s.height === 'number' ? s.height : undefined,
      width: typeof s.width === 'number' ? s.width : undefined,
    };
  }
  throw new PreprocessConfigError(`field "${key}" must be a number or an object with shortest_edge or height/width`);
}

/** Validates a parsed `preprocessor_config.json`; errors name the field. */
export function parsePreprocessConfig(json: unknown): PreprocessConfig {
  if (!json || typeof json !== 'object') throw new PreprocessConfigError('must be a JSON object');
  const o = json as Obj;
  const resample = num(o, 'resample', 3);
  if (resample !== 3) throw new PreprocessConfigError(`field "resample" is ${resample}; only 3 (bicubic, as CLIP uses) is implemented`);
  const doResize = o.do_resize !== false;
  const size = doResize ? sizeField(o, 'size') : {};
  const shortestEdge = doResize ? size.shortest ?? 0 : 0;
  if (doResize && !shortestEdge) throw new PreprocessConfigError('field "size" needs shortest_edge (CLIP resizes the shortest side)');
  if (o.do_center_crop === false) throw new PreprocessConfigError('field "do_center_crop" is false; CLIP models need a fixed square input');
  const crop = sizeField(o, 'crop_size');
  if (!crop.height || !crop.width) throw new PreprocessConfigError('field "crop_size" needs height and width');
  const normalize = o.do_normalize !== false;
  return {
    shortestEdge,
    cropHeight: crop.height,
    cropWidth: crop.width,
    rescaleFactor: o.do_rescale === false ? 0 : num(o, 'rescale_factor', 1 / 255),
    mean: normalize ? triple(o, 'image_mean') : [0, 0, 0],
    std: normalize ? triple(o, 'image_std') : [1, 1, 1],
  };
}

/** HF `get_resize_output_image_size` with default_to_square=False: the long side is truncated. */
export function resizedSize(width: number, height: number, shortest: number): { width: number; height: number } {
  const [short, long] = width <= height ? [width, height] : [height, width];
  const newLong = Math.trunc((shortest * long) / short);
  return width <= height ? { width: shortest, height: newLong } : { width: newLong, height: shortest };
}

/** Resize + floor center crop, still 8-bit RGB (the Pillow-exact part; only the kept window is resampled). */
export function resizeAndCrop(img: Image8, cfg: PreprocessConfig): Image8 {
  if (img.channels !== 3) throw new Error(`resizeAndCrop: expected RGB, got ${img.channels} channels`);
  const size = cfg.shortestEdge ? resizedSize(img.width, img.height, cfg.shortestEdge) : img;
  const { cropWidth: cw, cropHeight: chh } = cfg;
  if (size.width < cw || size.height < chh) {
    throw new Error(`image of ${img.width}x${img.height} resizes to ${size.width}x${size.height}, smaller than the ${cw}x${chh} crop`);
  }
  const top = Math.floor((size.height - chh) / 2);
  const left = Math.floor((size.width - cw) / 2);
  return resizeBicubic(img, size.width, size.height, { left, top, width: cw, height: chh });
}

/** Per channel, the normalised value of each byte value, 3 × 256 entries; one table per config. */
const luts = new WeakMap<PreprocessConfig, Float32Array>();

function normalizeLut(cfg: PreprocessConfig): Float32Array {
  let lut = luts.get(cfg);
  if (!lut) {
    const f = Math.fround;
    lut = new Float32Array(3 * 256);
    for (let c = 0; c < 3; c++) {
      const mean = f(cfg.mean[c]);
      const std = f(cfg.std[c]);
      for (let v = 0; v < 256; v++) lut[c * 256 + v] = f(f(f(cfg.rescaleFactor ? v * cfg.rescaleFactor : v) - mean) / std);
    }
    luts.set(cfg, lut);
  }
  return lut;
}

/**
 * Rescale and normalise into CHW float32, in float32 arithmetic like numpy does in HF:
 * float32(x * factor computed in float64), then (x - mean) / std with float32 mean/std. The same byte always
 * gives the same value, so the per-pixel work is three table lookups.
 */
export function normalize(crop: Image8, cfg: PreprocessConfig, out: Float32Array = new Float32Array(3 * crop.width * crop.height)): Float32Array {
  const plane = crop.width * crop.height;
  const lut = normalizeLut(cfg);
  const src = crop.data;
  for (let p = 0, s = 0; p < plane; p++, s += 3) {
    out[p] = lut[src[s]];
    out[plane + p] = lut[256 + src[s + 1]];
    out[2 * plane + p] = lut[512 + src[s + 2]];
  }
  return out;
}

/** The full preprocessing of one decoded image into `out` (length 3·H·W of the crop). */
export function preprocess(img: Image8, cfg: PreprocessConfig, out?: Float32Array): Float32Array {
  return normalize(resizeAndCrop(img, cfg), cfg, out);
}
