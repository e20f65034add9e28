// Batched, pipelined image embedding: worker threads decode and preprocess ahead of the model through a
// bounded window, so inference is never starved and memory stays flat however many images there are.
import { availableParallelism } from 'node:os';
import type { ClipModel } from './model.js';
import { PreprocessPool } from './pool.js';
import type { DecodeOptions } from './decode.js';

export interface ImageItem {
  readonly path: string;
}

export interface EmbedImagesOptions<T extends ImageItem> {
  readonly batchSize?: number;
  /** Preprocessing worker threads (default: cores - 1, at least 1; 0 = in this thread). */
  readonly workers?: number;
  readonly signal?: AbortSignal;
  /** How files are decoded (EXIF transpose); default PIL's Image.open semantics. */
  readonly decode?: DecodeOptions;
  /** Called once per embedded image, in input order, with its unnormalised embedding. */
  onEmbedded(item: T, embedding: Float32Array): void;
  /** Called for an unreadable image; throw to stop the whole run. */
  onFailed(item: T, error: string): void;
  onProgress?(done: number): void;
}

export function defaultWorkers(): number {
  return Math.max(1, availableParallelism() - 1);
}

/** Embeds every item's image; returns how many were embedded and how many failed. */
export async function embedImages<T extends ImageItem>(model: ClipModel, items: Iterable<T>, opts: EmbedImagesOptions<T>): Promise<{ embedded: number; failed: number }> {
  if (!model.preprocess) throw new Error('embedImages: the model was loaded without its vision tower');
  const batchSize = opts.batchSize ?? 32;
  const workers = opts.workers ?? defaultWorkers();
  const size = model.imageShape[0] * model.imageShape[1] * model.imageShape[2];
  const pool = new PreprocessPool(workers, model.preprocess, opts.decode);
  // Enough images in flight to fill the next batch while the current one runs, and no more.
  const window = batchSize * 2 + workers * 2;
  const queue: Promise<{ item: T; pixels?: Float32Array; error?: string }>[] = [];
  const it = items[Symbol.iterator]();
  let exhausted = false;
  const refill = () => {
    while (!exhausted && queue.length < window) {
      const next = it.next();
      if (next.done) {
        exhausted = true;
        break;
      }
      const item = next.value;
      queue.push(pool.submit(item.path).then((pixels) => ({ item, pixels }), (e: Error) => ({ item, error: e.message })));
    }
  };
  const pixels = new Float32Array(batchSize * size);
  const batch: T[] = [];
  let embedded = 0;
  let failed = 0;
  const runBatch = async () => {
    if (!batch.length) return;
    const out = await model.embedPixels(pixels, batch.length);
    batch.forEach((item, i) => opts.onEmbedded(item, out.subarray(i * model.embedDim, (i + 1) * model.embedDim)));
    embedded += batch.length;
    batch.length = 0;
    opts.onProgress?.(embedded + failed);
  };
  try {
    refill();
    while (queue.length) {
      opts.signal?.throwIfAborted();
      const r = await queue.shift()!;
      refill();
      if (r.error !== undefined || !r.pixels) {
        failed++;
        opts.onFailed(r.item, r.error ?? 'no pixels');
        continue;
      }
      pixels.set(r.pixels, batch.length * size);
      batch.push(r.item);
      if (batch.length === batchSize) await runBatch();
    }
    await runBatch();
  } finally {
    await pool.close();
  }
  return { embedded, failed };
}

/**
 * Embeddings of a list of image files, row i for path i (`pipe predict`, zero-shot evaluation). Rows of
 * unreadable images stay zero and are listed in `failed`.
 */
export async function embedImageFiles(
  model: ClipModel,
  paths: readonly string[],
  opts: { batchSize?: number; workers?: number; signal?: AbortSignal } = {},
): Promise<{ embeddings: Float32Array; failed: { index: number; path: string; error: string }[] }> {
  const embeddings = new Float32Array(paths.length * model.embedDim);
  const failed: { index: number; path: string; error: string }[] = [];
  await embedImages(model, paths.map((path, index) => ({ path, index })), {
    ...opts,
    onEmbedded: (item, vec) => embeddings.set(vec, item.index * model.embedDim),
    onFailed: (item, error) => failed.push({ index: item.index, path: item.path, error }),
  });
  return { embeddings, failed };
}
