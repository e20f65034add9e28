// `clip/embed-texts`: prompts.jsonl -> CLIP text embeddings (.npy) + index (id, row, text), through the
// per-text cache, so a prompt list that gains a template or a synonym embeds only the new texts.
import { availableParallelism } from 'node:os';
import { EmbeddingCache, textHash } from '../../src/clip/cache.js';
import { configEmbedDim, loadClipModel, towerHash, validateModelFolder } from '../../src/clip/model.js';
import { MODEL_PARAM_SCHEMA, modelFingerprint, type ModelParams } from '../../src/clip/stage-common.js';
import { byTokenCount, textInputVersion } from '../../src/clip/tokenizer.js';
import type { EmbeddingIndexRow, PromptRow } from '../../src/formats.js';
import { readJsonl, writeJsonl } from '../../src/io/jsonl.js';
import { writeNpy } from '../../src/io/npy.js';
import { defineStage } from '../../src/stage-api.js';

export interface EmbedTextsParams extends ModelParams {
  readonly prompts: string;
}

export default defineStage<EmbedTextsParams>({
  kind: 'clip/embed-texts',
  // Unchanged by the cache and by the batching order: a row's floats do not depend on its batch (the outputs
  // are byte-identical with and without the cache, whose batches differ; test/clip/text-cache.test.ts).
  version: '1',
  description: 'CLIP text embeddings (unnormalised text_embeds) of every prompt, cached per text',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['prompts', 'model'],
    properties: {
      prompts: { type: 'string', format: 'path', description: 'prompts.jsonl (rows: id, kind, text, ...)' },
      ...MODEL_PARAM_SCHEMA,
    },
  },
  outputs: {
    embeddings: { path: 'embeddings.npy', description: 'float32 [N, D] text_embeds, rows in prompt order' },
    index: { path: 'index.jsonl', description: 'id, row, text of every prompt' },
  },
  resources(p) {
    return { cpu: availableParallelism(), gpu: p.provider === 'cuda' ? 1 : 0, memoryMb: 1000 };
  },
  async fingerprint(p) {
    return modelFingerprint(p);
  },
  async run(ctx) {
    const p = ctx.params;
    const prompts = readJsonl<PromptRow>(p.prompts);
    const files = validateModelFolder(p.model, p.dtype, ['text']);
    const cache = new EmbeddingCache(ctx.kindCacheDir, {
      modelHash: await towerHash(files, 'text', (paths) => ctx.hashFiles(paths)),
      preprocessVersion: textInputVersion(files),
      dim: configEmbedDim(files),
    });
    try {
      // One embedding per distinct text that the cache does not hold yet, in prompt order.
      const hashes = prompts.map((r) => textHash(r.text));
      const todo = new Map<string, string>();
      prompts.forEach((r, i) => {
        if (!cache.has(hashes[i]) && !todo.has(hashes[i])) todo.set(hashes[i], r.text);
      });
      ctx.log(`${prompts.length} prompts: ${prompts.length - todo.size} restored from the cache (${cache.dir}), ${todo.size} to embed`);
      if (todo.size) {
        const model = await loadClipModel(p.model, { dtype: p.dtype, provider: p.provider, towers: ['text'] });
        try {
          const pending = byTokenCount([...todo], ([, text]) => text, model.tokenizer!);
          // One batch per call, each put in the cache at once: a killed run keeps every flushed shard.
          for (let start = 0; start < pending.length; start += p.batch_size) {
            ctx.signal.throwIfAborted();
            const batch = pending.slice(start, start + p.batch_size);
            const vecs = await model.embedTexts(batch.map(([, text]) => text), p.batch_size);
            batch.forEach(([hash], i) => cache.put(hash, vecs.subarray(i * model.embedDim, (i + 1) * model.embedDim)));
            ctx.progress({ done: start + batch.length, total: pending.length, unit: 'texts' });
          }
        } finally {
          await model.release();
        }
      }
      cache.flush();
      const dim = cache.key.dim;
      const vecs = new Float32Array(prompts.length * dim);
      hashes.forEach((hash, row) => vecs.set(cache.get(hash)!, row * dim));
      writeNpy(ctx.output('embeddings'), vecs, [prompts.length, dim]);
      writeJsonl(ctx.output('index'), prompts.map((r, row): EmbeddingIndexRow => ({ id: r.id, row, text: r.text })));
      ctx.log(`wrote ${prompts.length} embeddings: ${todo.size} texts embedded, ${prompts.length - todo.size} prompts restored from the cache`);
    } finally {
      cache.close();
    }
  },
});
