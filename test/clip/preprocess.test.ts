// Parity of our decode + Pillow-exact preprocessing against goldens written by Pillow and numpy
// (tools/clip_preprocess_goldens.py). Every case must match exactly: lossless inputs by construction, and the
// JPEGs because sharp's mozjpeg and Debian Pillow's libjpeg-turbo decode them to identical bytes (measured;
// see docs/clip.md for the cases where decoders can differ).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeRgb, ImageDecodeError } from '../../src/clip/decode.js';
import { normalize, parsePreprocessConfig, resizeAndCrop } from '../../src/clip/preprocess.js';
import { resizeBicubic } from '../../src/clip/resample.js';
import { readNpy } from '../../src/io/npy.js';
import { expectSameBytes } from '../support/bytes.js';

const ROOT = join(import.meta.dirname, '..', 'golden', 'clip');
/** `crop`/`norm` arrays for the preprocessing cases; every case has the hashes of Pillow's decode and crop. */
interface Case { image: string; crop?: string; norm?: string; size: [number, number]; mode: string; rgb_sha256: string; crop_sha256: string }
const goldens = JSON.parse(readFileSync(join(ROOT, 'goldens.json'), 'utf8')) as {
  size: number; norm_stride: number; crop_stride: number; mean: number[]; std: number[]; rescale_factor: number; cases: Case[];
};
const cfg = parsePreprocessConfig({
  do_resize: true, size: { shortest_edge: goldens.size }, resample: 3, do_center_crop: true,
  crop_size: { height: goldens.size, width: goldens.size }, do_rescale: true, rescale_factor: goldens.rescale_factor,
  do_normalize: true, image_mean: goldens.mean, image_std: goldens.std,
});

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Max and mean absolute difference between our full-size result, subsampled, and a golden. */
function diff(ours: ArrayLike<number>, golden: ArrayLike<number>, planes: number, side: number, stride: number, chw: boolean) {
  const n = Math.ceil(side / stride);
  let max = 0;
  let sum = 0;
  for (let c = 0; c < planes; c++) {
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        const o = chw ? c * side * side + y * stride * side + x * stride : (y * stride * side + x * stride) * planes + c;
        const g = chw ? (c * n + y) * n + x : (y * n + x) * planes + c;
        const d = Math.abs(ours[o] - golden[g]);
        max = Math.max(max, d);
        sum += d;
      }
    }
  }
  return { max, mean: sum / (planes * n * n) };
}

describe('CLIP preprocessing parity with Pillow', () => {
  for (const c of goldens.cases) {
    it(`${c.image} (${c.mode} ${c.size.join('x')})`, async () => {
      const img = await decodeRgb(readFileSync(join(ROOT, c.image)));
      expect([img.width, img.height]).toEqual(c.size); // no EXIF rotation, like PIL
      // Decoding byte-identical to Image.open(f).convert('RGB'), and the whole 224x224 crop too.
      expect(sha256(img.data), 'decoded RGB').toBe(c.rgb_sha256);
      const crop = resizeAndCrop(img, cfg);
      expect(sha256(crop.data), 'resized and cropped RGB').toBe(c.crop_sha256);
      if (!c.crop || !c.norm) return;
      const norm = normalize(crop, cfg);
      const dc = diff(crop.data, readNpy(join(ROOT, c.crop)).data as Uint8Array, 3, goldens.size, goldens.crop_stride, false);
      const dn = diff(norm, readNpy(join(ROOT, c.norm)).data as Float32Array, 3, goldens.size, goldens.norm_stride, true);
      expect(dc).toEqual({ max: 0, mean: 0 });
      expect(dn.max).toBeLessThanOrEqual(1e-5);
    });
  }

  it('covers real photographs, ICC-tagged JPEGs, transparent GIFs, BMP and ICO', () => {
    const names = goldens.cases.map((c) => c.image);
    for (const kind of ['photo-', 'icc-adobergb', 'icc-rommrgb', 'gif-transparent', 'bmp8', 'bmp24', 'bmp32', 'ico-bmp', 'ico-png']) {
      expect(names.some((n) => n.includes(kind)), kind).toBe(true);
    }
  });

  it('refuses what Pillow refuses (AVIF, SVG) and what it cannot read like Pillow (JPEG 2000), saying so', async () => {
    const { default: sharp } = await import('sharp');
    const avif = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).avif().toBuffer();
    await expect(decodeRgb(avif)).rejects.toThrow(/AVIF\/HEIF: Pillow does not open it/);
    await expect(decodeRgb(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>'))).rejects.toThrow(/SVG: Pillow does not open vector images/);
    const jp2 = Buffer.from([0, 0, 0, 12, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a]);
    await expect(decodeRgb(jp2)).rejects.toThrow(ImageDecodeError);
    await expect(decodeRgb(jp2)).rejects.toThrow(/JPEG 2000/);
  });

  it('rotates by the EXIF orientation only when asked (exif_transpose)', async () => {
    const file = readFileSync(join(ROOT, 'images', 'exif6-200x260.jpg'));
    const plain = await decodeRgb(file);
    const rotated = await decodeRgb(file, { exifTranspose: true });
    expect([plain.width, plain.height]).toEqual([200, 260]);
    expect([rotated.width, rotated.height]).toEqual([260, 200]);
    // Orientation 6: the displayed top-left pixel is the stored bottom-left one.
    const px = (img: typeof plain, x: number, y: number) => Array.from(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));
    expect(px(rotated, 0, 0)).toEqual(px(plain, 0, plain.height - 1));
  });

  it('skips an unchanged axis and keeps a 1-pixel-wide image finite', () => {
    const src = { width: 1, height: 5, channels: 3, data: new Uint8Array(15).map((_, i) => i * 10) };
    expect(resizeBicubic(src, 1, 5)).toBe(src);
    const up = resizeBicubic(src, 4, 5);
    // A single column upsampled horizontally only repeats it (taps renormalised at the edges).
    for (let y = 0; y < 5; y++) for (let x = 0; x < 4; x++) expect(up.data[(y * 4 + x) * 3]).toBe(src.data[y * 3]);
  });

  it('resampling a window equals cropping the full resize, for any channel count', () => {
    for (const [w, h, ow, oh, ch] of [[97, 61, 150, 40, 3], [300, 200, 70, 90, 1], [50, 80, 50, 33, 4], [64, 64, 21, 64, 3]]) {
      const src = { width: w, height: h, channels: ch, data: new Uint8Array(w * h * ch).map((_, i) => (i * 2654435761) >>> 24) };
      const full = resizeBicubic(src, ow, oh);
      const box = { left: Math.floor(ow / 5), top: Math.floor(oh / 3), width: Math.ceil(ow / 2), height: Math.ceil(oh / 2) };
      const part = resizeBicubic(src, ow, oh, box);
      for (let y = 0; y < box.height; y++) {
        const a = full.data.subarray(((y + box.top) * ow + box.left) * ch, ((y + box.top) * ow + box.left + box.width) * ch);
        expectSameBytes(part.data.subarray(y * box.width * ch, (y + 1) * box.width * ch), a, `row ${y}`);
      }
    }
  });

  it('resamples RGB (the SIMD kernel) exactly as each channel alone (the per-sample loops)', () => {
    for (const [w, h, ow, oh] of [[1600, 9, 298, 5], [220, 147, 335, 224], [146, 220, 224, 337], [7, 300, 1, 31], [513, 2, 512, 2]]) {
      const rgb = { width: w, height: h, channels: 3, data: new Uint8Array(w * h * 3).map((_, i) => ((i * 2654435761) >>> 24) & (i % 7 ? 255 : 3)) };
      const out = resizeBicubic(rgb, ow, oh);
      for (let c = 0; c < 3; c++) {
        const plane = { width: w, height: h, channels: 1, data: rgb.data.filter((_, i) => i % 3 === c) };
        expectSameBytes(out.data.filter((_, i) => i % 3 === c), resizeBicubic(plane, ow, oh).data, `channel ${c}`);
      }
    }
  });

  it('names the bad field of a preprocessor config', () => {
    expect(() => parsePreprocessConfig({ size: { shortest_edge: 224 }, crop_size: 224, resample: 2 })).toThrow(/resample/);
    expect(() => parsePreprocessConfig({ size: { shortest_edge: 224 }, crop_size: 224, image_mean: [0.5], image_std: [1, 1, 1] })).toThrow(/image_mean/);
  });
});
