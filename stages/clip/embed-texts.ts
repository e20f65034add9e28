// `clip/embed-texts`: prompts.jsonl -> CLIP text embeddings (.npy) + index (id, row, text).
import { availableParallelism } from 'node:os';
import { loadClipModel } from '../../src/clip/model.js';
import { MODEL_PARAM_SCHEMA, modelFingerprint, type ModelParams } from '../../src/clip/stage-common.js';
import type { EmbeddingIndexRow, PromptRow } from '../../src/formats.js';
import { readJsonl, writeJsonl } from '../../src/io/jsonl.js';
import { writeNpy } from '../../src/io/npy.js';
import { defineStage } from '../../src/stage-api.js';

export interface EmbedTextsParams extends ModelParams {
  readonly prompts: string;
}

export default defineStage<EmbedTextsParams>({
  kind: 'clip/embed-texts',
  version: '1',
  description: 'CLIP text embeddings (unnormalised text_embeds) of every prompt',
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
    const model = await loadClipModel(p.model, { dtype: p.dtype, provider: p.provider, towers: ['text'] });
    try {
      const vecs = await model.embedTexts(prompts.map((r) => r.text), p.batch_size);
      writeNpy(ctx.output('embeddings'), vecs, [prompts.length, model.embedDim]);
      writeJsonl(ctx.output('index'), prompts.map((r, row): EmbeddingIndexRow => ({ id: r.id, row, text: r.text })));
      ctx.log(`embedded ${prompts.length} prompts`);
    } finally {
      await model.release();
    }
  },
});
