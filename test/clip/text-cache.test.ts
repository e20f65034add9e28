// The per-text cache of clip/embed-texts on generated model folders, run through the engine: real
// onnxruntime, real files, the real kind cache directory. Outputs must be byte-identical to embedding
// every prompt without a cache.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateClipModel } from '../../src/clip/generate.js';
import { loadClipModel } from '../../src/clip/model.js';
import type { EmbeddingIndexRow, PromptRow } from '../../src/formats.js';
import { readJsonl, writeJsonl } from '../../src/io/jsonl.js';
import { readMatrix } from '../../src/io/npy.js';
import embedTexts from '../../stages/clip/embed-texts.js';
import { expectSameBytes, runKind } from '../support/index.js';
import { tempDir } from './support.js';

let dir: string;
let modelA: string;
let modelB: string;

beforeAll(() => {
  dir = tempDir('clip-text-cache');
  modelA = join(dir, 'model-a');
  modelB = join(dir, 'model-b');
  generateClipModel(modelA, { seed: 1, towers: ['text'] });
  generateClipModel(modelB, { seed: 2, towers: ['text'] });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CLASSES = ['joy', 'sadness', 'anger', 'fear', 'surprise', 'disgust', 'love'];
const prompt = (id: string, text: string): PromptRow => ({ id, kind: 'sc', text, taxonomy: 'webemo6', class: id });
const PROMPTS: PromptRow[] = [
  ...CLASSES.map((c) => prompt(`sc/${c}`, `a photo that seems to express ${c}`)),
  // A caption longer than the context length (truncated) and a duplicate text under another id.
  prompt('ic/long', Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ')),
  prompt('sc/joy-again', 'a photo that seems to express joy'),
];

async function embed(name: string, prompts: PromptRow[], model = modelA, batchSize = 3) {
  const file = join(dir, `${name}.jsonl`);
  writeJsonl(file, prompts);
  // Forced: every call runs the stage (a store hit would run nothing), so what is measured is its own
  // per-text cache. `dir` is the workspace: one store and one kind cache for the whole file.
  const run = await runKind(embedTexts, { prompts: file, model, dtype: 'fp32', provider: 'cpu', batch_size: batchSize }, { workspace: dir, force: true });
  const log = run.logs.join('\n');
  return {
    run,
    bytes: readFileSync(run.outputs.embeddings),
    index: readJsonl<EmbeddingIndexRow>(run.outputs.index),
    embedded: Number(/(\d+) texts embedded/.exec(log)?.[1]),
    restored: Number(/(\d+) prompts restored/.exec(log)?.[1]),
  };
}

/** What the stage wrote before the cache: every prompt through the model, batched in prompt order. */
async function uncached(prompts: PromptRow[], model = modelA, batchSize = 3): Promise<Float32Array> {
  const m = await loadClipModel(model, { towers: ['text'] });
  try {
    return await m.embedTexts(prompts.map((p) => p.text), batchSize);
  } finally {
    await m.release();
  }
}

describe('clip/embed-texts per-text cache', () => {
  it('embeds each distinct text once, then nothing, then only an added prompt; same floats as without a cache', async () => {
    const first = await embed('p1', PROMPTS);
    expect(first.embedded).toBe(PROMPTS.length - 1); // the duplicate text is embedded once
    expect(first.index).toEqual(PROMPTS.map((p, row) => ({ id: p.id, row, text: p.text })));
    const m = readMatrix(first.run.outputs.embeddings);
    expect([m.rows, m.cols]).toEqual([PROMPTS.length, 512]);
    expectSameBytes(m.data, await uncached(PROMPTS));

    const again = await embed('p1', PROMPTS);
    expect([again.embedded, again.restored]).toEqual([0, PROMPTS.length]);
    expectSameBytes(again.bytes, first.bytes);

    // One more synonym in the middle of the list: exactly one text is embedded, the rest restored.
    const grown = [...PROMPTS.slice(0, 3), prompt('sc/delight', 'a photo that seems to express delight'), ...PROMPTS.slice(3)];
    const g = await embed('p2', grown);
    expect([g.embedded, g.restored]).toEqual([1, grown.length - 1]);
    expectSameBytes(readMatrix(g.run.outputs.embeddings).data, await uncached(grown));
  });

  it('a different model, or a different context length, embeds every text again', async () => {
    await embed('p1', PROMPTS);
    const other = await embed('p1', PROMPTS, modelB);
    expect(other.embedded).toBe(PROMPTS.length - 1);
    expectSameBytes(readMatrix(other.run.outputs.embeddings).data, await uncached(PROMPTS, modelB));

    // Same ONNX file and tokenizer.json, shorter context (truncates the long caption differently).
    const cfg = join(modelB, 'tokenizer_config.json');
    writeFileSync(cfg, JSON.stringify({ ...(JSON.parse(readFileSync(cfg, 'utf8')) as object), model_max_length: 16 }));
    const shorter = await embed('p1', PROMPTS, modelB);
    expect(shorter.embedded).toBe(PROMPTS.length - 1);
    expectSameBytes(readMatrix(shorter.run.outputs.embeddings).data, await uncached(PROMPTS, modelB));
  });
});
