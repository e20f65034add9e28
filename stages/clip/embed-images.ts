// `clip/embed-images`: a dataset manifest -> CLIP image embeddings (.npy) + index, through the per-image
// cache, so re-embedding a grown dataset embeds only the new images.
import { closeSync, openSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { EmbeddingCache } from '../../src/clip/cache.js';
import { embedImages } from '../../src/clip/embed.js';
import { configEmbedDim, loadClipModel, towerHash, validateModelFolder } from '../../src/clip/model.js';
import { PREPROCESS_VERSION } from '../../src/clip/preprocess.js';
import { MODEL_PARAM_SCHEMA, modelFingerprint, type ModelParams } from '../../src/clip/stage-common.js';
import type { EmbeddingIndexRow, ManifestRow } from '../../src/formats.js';
import { readJsonl, writeJsonl } from '../../src/io/jsonl.js';
import { NpyRowWriter } from '../../src/io/npy.js';
import { defineStage, StageError } from '../../src/stage-api.js';

export interface EmbedImagesParams extends ModelParams {
  readonly manifest: string;
  readonly on_error: 'skip' | 'fail';
  readonly workers?: number;
  readonly exif_transpose: boolean;
}

export interface FailedRow {
  readonly id: string;
  readonly path: string;
  readonly error: string;
}

export default defineStage<EmbedImagesParams>({
  kind: 'clip/embed-images',
  version: '2',
  description: 'CLIP image embeddings (unnormalised image_embeds) of every manifest image, cached per image',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['manifest', 'model'],
    properties: {
      manifest: { type: 'string', format: 'path', description: 'manifest.jsonl of an ingest stage' },
      ...MODEL_PARAM_SCHEMA,
      on_error: { enum: ['skip', 'fail'], default: 'skip', description: 'unreadable images: list them in failed.jsonl and go on, or fail the stage' },
      workers: { type: 'integer', minimum: 0, maximum: 64, description: 'preprocessing threads (default: cores - 1)' },
      exif_transpose: { type: 'boolean', default: false, description: "rotate by the EXIF orientation first, as transformers' pipelines do; default false: PIL's Image.open and the CLIP processors (and the paper) do not" },
    },
  },
  outputs: {
    embeddings: { path: 'embeddings.npy', description: 'float32 [N, D] image_embeds, rows in manifest order minus failed images' },
    index: { path: 'index.jsonl', description: 'id, path, hash, row of every embedded image' },
    failed: { path: 'failed.jsonl', description: 'id, path, error of every image that could not be read' },
  },
  resources(p) {
    return { cpu: availableParallelism(), gpu: p.provider === 'cuda' ? 1 : 0, memoryMb: 2000 };
  },
  async fingerprint(p) {
    return modelFingerprint(p);
  },
  async run(ctx) {
    const p = ctx.params;
    const rows = readJsonl<ManifestRow>(p.manifest);
    const files = validateModelFolder(p.model, p.dtype, ['vision']);
    const cache = new EmbeddingCache(ctx.kindCacheDir, {
      modelHash: await towerHash(files, 'vision', (paths) => ctx.hashFiles(paths)),
      // A rotated image is another tensor: its own cache entries.
      preprocessVersion: p.exif_transpose ? `${PREPROCESS_VERSION}+exif-transpose` : PREPROCESS_VERSION,
      dim: configEmbedDim(files),
    });
    const failed = new Map<string, string>();
    try {
      // One embedding per distinct content hash that the cache does not hold yet.
      const todo = new Map<string, ManifestRow>();
      for (const r of rows) if (!cache.has(r.hash) && !todo.has(r.hash)) todo.set(r.hash, r);
      ctx.log(`${rows.length} images: ${rows.length - todo.size} in the cache (${cache.dir}), ${todo.size} to embed`);
      if (todo.size) {
        const model = await loadClipModel(p.model, { dtype: p.dtype, provider: p.provider, towers: ['vision'] });
        try {
          await embedImages(model, todo.values(), {
            batchSize: p.batch_size,
            workers: p.workers,
            decode: { exifTranspose: p.exif_transpose },
            signal: ctx.signal,
            onEmbedded: (row, vec) => cache.put(row.hash, vec),
            onFailed: (row, error) => {
              if (p.on_error === 'fail') throw new StageError(`${row.path} (${row.id}): cannot read the image: ${error}`, 'Fix or remove the file, or set on_error: skip to list it in failed.jsonl and go on.');
              failed.set(row.hash, error);
              ctx.log(`skipped ${row.path}: ${error}`);
            },
            onProgress: (done) => ctx.progress({ done, total: todo.size, unit: 'images' }),
          });
        } finally {
          await model.release();
        }
      }
      cache.flush();
      // Matrix and index are streamed row by row: memory does not grow with the dataset.
      const writer = new NpyRowWriter(ctx.output('embeddings'), cache.key.dim);
      const index = openSync(ctx.output('index'), 'w');
      const failedRows: FailedRow[] = [];
      try {
        for (const r of rows) {
          const error = failed.get(r.hash);
          const vec = error === undefined ? cache.get(r.hash) : undefined;
          if (!vec) {
            failedRows.push({ id: r.id, path: r.path, error: error ?? 'not embedded' });
            continue;
          }
          const entry: EmbeddingIndexRow = { id: r.id, path: r.path, hash: r.hash, row: writer.rows };
          writeSync(index, JSON.stringify(entry) + '\n');
          writer.append(vec);
        }
      } finally {
        writer.close();
        closeSync(index);
      }
      writeJsonl(ctx.output('failed'), failedRows);
      // Named by output, not by ctx.output(): that private directory is gone once the store commits it.
      ctx.log(`wrote ${writer.rows} embeddings; ${failedRows.length} images failed${failedRows.length ? ` (listed in the output "failed", ${basename(ctx.output('failed'))})` : ''}`);
    } finally {
      cache.close();
    }
  },
});
