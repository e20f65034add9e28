// Image decoding to 8-bit RGB the way PIL's `Image.open(path).convert('RGB')` does it, with sharp.
//
// PIL semantics kept on purpose (CLIP was trained and evaluated through PIL): no EXIF auto-rotation, alpha
// dropped without compositing, palette expanded, grey replicated, CMYK converted with PIL's naive formula
// rather than an ICC transform. sharp is imported lazily: it is heavy and only embedding stages need it.
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

/** Decodes an encoded image (JPEG, PNG, WebP, GIF, TIFF, ...) into interleaved 8-bit RGB. */
export async function decodeRgb(input: Buffer): Promise<Image8> {
  const sharp = await loadSharp();
  try {
    // failOn 'truncated': PIL refuses truncated files but tolerates minor JPEG warnings.
    const img = sharp(input, { failOn: 'truncated', limitInputPixels: 0x3fff * 0x3fff });
    const meta = await img.metadata();
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
