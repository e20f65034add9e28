// Image decoding to 8-bit RGB the way PIL's `Image.open(path).convert('RGB')` does it, with sharp and, for
// the formats sharp lacks or decodes differently, small well-used npm decoders.
//
// PIL semantics kept on purpose (CLIP was trained and evaluated through PIL): no EXIF auto-rotation (unless
// asked for), alpha dropped without compositing, palette expanded (a GIF's transparent index too: PIL gives
// its palette colour, where sharp gives black), grey replicated, CMYK converted with PIL's naive formula,
// embedded ICC profiles ignored (PIL reads the stored values; sharp would convert Adobe RGB or Display P3
// to sRGB). Formats PIL does not open (AVIF/HEIF, SVG) are refused, like PIL; see docs/clip.md for the list.
// The decoders are imported lazily: they are heavy and only embedding stages need them.
import type { Image8 } from './resample.js';

export class ImageDecodeError extends Error {
  override readonly name = 'ImageDecodeError';
}

type Sharp = (typeof import('sharp'))['default'];
let sharpModule: Promise<Sharp> | undefined;

/** Loads sharp once; `threads` bounds libvips' own pool (workers run one image each). */
export function loadSharp(threads?: number): Promise<Sharp> {
  sharpModule ??= import('sharp').then((m) => {
    const sharp = m.default;
    // The libvips operation cache only grows on a stream of distinct files.
    sharp.cache(false);
    if (threads !== undefined) sharp.concurrency(threads);
    return sharp;
  });
  return sharpModule;
}

/** PIL's `cmyk2rgb`: R = (255 - C)(255 - K) / 255 with its rounding MULDIV255. */
function cmykToRgb(src: Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels * 3);
  for (let p = 0; p < pixels; p++) {
    const nk = 255 - src[p * 4 + 3];
    for (let c = 0; c < 3; c++) {
      const t = src[p * 4 + c] * nk + 128;
      const v = nk - ((t + (t >> 8)) >> 8);
      out[p * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return out;
}

/** The container, from its first bytes: which decoder reads it, or why it is refused. */
export type SniffedFormat = 'gif' | 'bmp' | 'ico' | 'heif' | 'svg' | 'jp2' | 'other';

export function sniffFormat(b: Uint8Array): SniffedFormat {
  const ascii = (from: number, to: number): string => String.fromCharCode(...b.subarray(from, to));
  if (ascii(0, 4) === 'GIF8') return 'gif';
  if (ascii(0, 2) === 'BM') return 'bmp';
  if (b.length >= 4 && b[0] === 0 && b[1] === 0 && (b[2] === 1 || b[2] === 2) && b[3] === 0) return 'ico';
  if (ascii(4, 8) === 'ftyp' && /^(avif|avis|heic|heix|hevc|mif1|msf1)$/.test(ascii(8, 12))) return 'heif';
  if (ascii(4, 8) === 'jP  ' || (b[0] === 0xff && b[1] === 0x4f && b[2] === 0xff && b[3] === 0x51)) return 'jp2';
  if (/^\s*(<\?xml|<svg|<!DOCTYPE svg)/i.test(ascii(0, Math.min(b.length, 256)))) return 'svg';
  return 'other';
}

/** Formats PIL (9.4, as in Debian) refuses, or this project cannot read as PIL does, and what to do. */
const REFUSED: Partial<Record<SniffedFormat, string>> = {
  heif: 'AVIF/HEIF: Pillow does not open it (no AVIF/HEIF plugin), so CLIP-E could not have seen it; convert it to PNG or JPEG',
  svg: 'SVG: Pillow does not open vector images; rasterise it to PNG first',
  jp2: 'JPEG 2000: Pillow reads it through OpenJPEG, which this project has no decoder for; convert it to PNG',
};

function rgbFromRgba(rgba: ArrayLike<number>, width: number, height: number): Image8 {
  const data = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    data[p * 3] = rgba[p * 4];
    data[p * 3 + 1] = rgba[p * 4 + 1];
    data[p * 3 + 2] = rgba[p * 4 + 2];
  }
  return { width, height, channels: 3, data };
}

/**
 * A GIF's first frame as PIL opens it: a palette image the size of the logical screen, filled with the
 * transparent index (else index 0) and the frame drawn into its rectangle; convert('RGB') then maps every
 * index, the transparent one included, through the frame's palette.
 */
async function decodeGif(input: Uint8Array): Promise<Image8> {
  const { parseGIF, decompressFrame } = await import('gifuct-js');
  const gif = parseGIF(input.buffer.slice(input.byteOffset, input.byteOffset + input.byteLength) as ArrayBuffer);
  const first = gif.frames.find((f) => 'image' in f);
  if (!first) throw new ImageDecodeError('GIF without an image frame');
  const frame = decompressFrame(first as Parameters<typeof decompressFrame>[0], gif.gct, false);
  const { width, height } = gif.lsd;
  const index = new Uint8Array(width * height).fill(frame.transparentIndex ?? 0);
  const { top, left, width: fw, height: fh } = frame.dims;
  for (let y = 0; y < fh && top + y < height; y++) {
    for (let x = 0; x < fw && left + x < width; x++) index[(top + y) * width + left + x] = frame.pixels[y * fw + x];
  }
  const data = new Uint8Array(width * height * 3);
  for (let p = 0; p < index.length; p++) {
    const c = frame.colorTable[index[p]] ?? [0, 0, 0];
    data[p * 3] = c[0];
    data[p * 3 + 1] = c[1];
    data[p * 3 + 2] = c[2];
  }
  return { width, height, channels: 3, data };
}

/** BMP (sharp has no BMP loader): its pixel values, alpha dropped. */
async function decodeBmpFile(input: Uint8Array): Promise<Image8> {
  const { default: decodeBmp } = await import('decode-bmp');
  const img = decodeBmp(input);
  return rgbFromRgba(img.data, img.width, img.height);
}

/** ICO: the largest entry, as PIL opens it (ties: the later entry in the file); PNG entries through sharp. */
async function decodeIcoFile(input: Uint8Array, options: DecodeOptions): Promise<Image8> {
  const { default: decodeIco } = await import('decode-ico');
  const entries = decodeIco(input);
  let best = entries[0];
  for (const e of entries) if (e.width * e.height >= best.width * best.height) best = e;
  if (!best) throw new ImageDecodeError('ICO without images');
  if (best.type === 'png') return decodeWithSharp(Buffer.from(best.data), options);
  return rgbFromRgba(best.data, best.width, best.height);
}

export interface DecodeOptions {
  /**
   * Rotate/flip by the EXIF orientation first (transformers' pipelines do; PIL's Image.open and the CLIP
   * processors do not). Default false.
   */
  readonly exifTranspose?: boolean;
}

/** Decodes an encoded image (JPEG, PNG, WebP, GIF, TIFF, BMP, ICO) into interleaved 8-bit RGB. */
export async function decodeRgb(input: Buffer, options: DecodeOptions = {}): Promise<Image8> {
  const format = sniffFormat(input);
  const refused = REFUSED[format];
  if (refused) throw new ImageDecodeError(refused);
  try {
    // EXIF orientation lives in JPEG/TIFF/WebP/PNG metadata, which sharp reads; GIF, BMP and ICO have none.
    if (format === 'gif') return await decodeGif(input);
    if (format === 'bmp') return await decodeBmpFile(input);
    if (format === 'ico') return await decodeIcoFile(input, options);
  } catch (e) {
    if (e instanceof ImageDecodeError) throw e;
    throw new ImageDecodeError(`${format.toUpperCase()}: ${(e as Error).message.split('\n')[0]}`);
  }
  return decodeWithSharp(input, options);
}

async function decodeWithSharp(input: Buffer, options: DecodeOptions): Promise<Image8> {
  const sharp = await loadSharp();
  try {
    // failOn 'truncated': PIL refuses truncated files but tolerates minor JPEG warnings. ignoreIcc: PIL
    // keeps the stored values of an Adobe RGB or Display P3 photo; sharp would convert them to sRGB.
    const img = sharp(input, { failOn: 'truncated', limitInputPixels: 0x3fff * 0x3fff, ignoreIcc: true });
    // rotate() without an angle applies the EXIF orientation within the same pipeline (no re-encoding).
    if (options.exifTranspose) img.rotate();
    const meta = await img.metadata();
    if (meta.format === 'heif' || meta.format === 'svg') throw new ImageDecodeError(REFUSED[meta.format === 'heif' ? 'heif' : 'svg']!);
    if (meta.space === 'cmyk') {
      // A CMYK pipeline keeps the decoded ink values; toColourspace alone would round-trip through ICC.
      const { data, info } = await img.pipelineColourspace('cmyk').toColourspace('cmyk').raw().toBuffer({ resolveWithObject: true });
      if (info.channels !== 4) throw new ImageDecodeError(`CMYK image decoded to ${info.channels} channels`);
      const pixels = info.width * info.height;
      return { width: info.width, height: info.height, channels: 3, data: cmykToRgb(data, pixels) };
    }
    if (meta.space === 'grey16' && meta.channels === 1) {
      // PIL opens 16-bit grey as a 32-bit integer image and convert('RGB') clips it at 255 (mostly white):
      // a Pillow quirk that the authors' pipeline inherits, so we keep it for parity.
      const { data, info } = await img.pipelineColourspace('grey16').toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
      const grey = new Uint16Array(data.buffer, data.byteOffset, info.width * info.height);
      const out = new Uint8Array(grey.length * 3);
      for (let p = 0; p < grey.length; p++) out[p * 3] = out[p * 3 + 1] = out[p * 3 + 2] = grey[p] > 255 ? 255 : grey[p];
      return { width: info.width, height: info.height, channels: 3, data: out };
    }
    const { data, info } = await img.removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new ImageDecodeError(`image decoded to ${info.channels} channels, expected RGB`);
    return { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (e) {
    if (e instanceof ImageDecodeError) throw e;
    throw new ImageDecodeError((e as Error).message.split('\n')[0]);
  }
}
