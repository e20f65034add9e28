// The generated tiny CLIP model through the real loading path: folder validation, onnxruntime sessions,
// tokenizer, text padding policy, both text-model signatures, image embeddings that carry content.
import { readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embedImageFiles } from '../../src/clip/embed.js';
import { generateClipModel } from '../../src/clip/generate.js';
import { float32ToHalf, halfToFloat32 } from '../../src/clip/half.js';
import { loadClipModel, ModelFolderError, type ClipModel } from '../../src/clip/model.js';
import { prepareImage } from '../../src/clip/prepare.js';
import { jpegFolder, tempDir } from './support.js';

let dir: string;
let model: ClipModel;

beforeAll(async () => {
  dir = tempDir('clip-model');
  generateClipModel(join(dir, 'tiny'), { seed: 3, fp16Variant: true });
  generateClipModel(join(dir, 'tiny-mask'), { seed: 3, textAttentionMask: true });
  model = await loadClipModel(join(dir, 'tiny'), { threads: 1 });
});
afterAll(async () => {
  await model.release();
  rmSync(dir, { recursive: true, force: true });
});

const cosine = (a: Float32Array, b: Float32Array) => {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
  return ab / Math.sqrt(aa * bb);
};
const row = (m: Float32Array, i: number, d = 512) => m.subarray(i * d, (i + 1) * d);

describe('CLIP model folder', () => {
  it('loads with names and sizes read from the sessions', () => {
    expect(model.embedDim).toBe(512);
    expect(model.imageShape).toEqual([3, 224, 224]);
    expect(model.tokenizer?.contextLength).toBe(77);
  });

  it('tokenises like CLIP: lower-cased, BOS/EOS, truncated to 77 keeping EOS', () => {
    const tok = model.tokenizer!;
    const ids = tok.encode('A Photo that seems to express JOY');
    expect(ids).toEqual(tok.encode('a photo   that seems to express joy'));
    expect(ids[ids.length - 1]).toBe(tok.eosId);
    expect(ids[0]).toBe(tok.eosId - 1); // BOS and EOS are the two last ids
    const long = tok.encode('joy '.repeat(200));
    expect(long.length).toBe(77);
    expect(long[76]).toBe(tok.eosId);
  });

  it('text embeddings do not depend on padding or batch composition', async () => {
    // The third text fills the whole context, so the first is padded from 7 to 77 tokens.
    const texts = ['a photo that evokes joy', 'a photo that seems to express a positive feeling of gratitude and relief', 'joy '.repeat(100)];
    const batched = await model.embedTexts(texts);
    const alone = await model.embedTexts([texts[0]]);
    for (let i = 0; i < 512; i++) expect(batched[i]).toBeCloseTo(alone[i], 4);
    expect(cosine(row(batched, 0), row(batched, 1))).toBeLessThan(0.999);
  });

  it('a text model with attention_mask gives the same embeddings', async () => {
    const masked = await loadClipModel(join(dir, 'tiny-mask'), { towers: ['text'], threads: 1 });
    try {
      const texts = ['a photo that evokes joy', 'a photo that seems to express sadness and neglect'];
      const a = await masked.embedTexts(texts);
      const b = await model.embedTexts(texts);
      for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 4);
    } finally {
      await masked.release();
    }
  });

  it('image embeddings are deterministic per image and differ between images', async () => {
    const rows = await jpegFolder(join(dir, 'img'), 3, 7);
    const px = new Float32Array(3 * 3 * 224 * 224);
    for (let i = 0; i < 3; i++) px.set(await prepareImage(rows[i].path, model.preprocess!), i * 3 * 224 * 224);
    const batch = await model.embedPixels(px, 3);
    const single = await model.embedPixels(px.subarray(224 * 224 * 3), 1);
    for (let i = 0; i < 512; i++) expect(single[i]).toBeCloseTo(batch[512 + i], 4);
    expect(cosine(row(batch, 0), row(batch, 2))).toBeLessThan(0.99);
  });

  it('embeds a list of files for prediction, keeping rows aligned and reporting unreadable ones', async () => {
    const rows = await jpegFolder(join(dir, 'predict'), 2, 9);
    const paths = [rows[0].path, join(dir, 'predict', 'missing.jpg'), rows[1].path];
    const { embeddings, failed } = await embedImageFiles(model, paths, { batchSize: 2, workers: 0 });
    expect(failed.map((f) => f.index)).toEqual([1]);
    expect(row(embeddings, 1).every((v) => v === 0)).toBe(true);
    const px = await prepareImage(rows[1].path, model.preprocess!);
    const direct = await model.embedPixels(px, 1);
    for (let i = 0; i < 512; i++) expect(row(embeddings, 2)[i]).toBeCloseTo(direct[i], 4);
  });

  it('names the missing file of a broken folder', async () => {
    generateClipModel(join(dir, 'broken'), { towers: ['vision'] });
    await expect(loadClipModel(join(dir, 'broken'))).rejects.toThrow(/missing onnx\/text_model\.onnx/);
    await expect(loadClipModel(join(dir, 'broken'), { dtype: 'fp16', towers: ['vision'] })).rejects.toThrow(/missing onnx\/vision_model_fp16\.onnx \(dtype fp16/);
    unlinkSync(join(dir, 'broken', 'preprocessor_config.json'));
    await expect(loadClipModel(join(dir, 'broken'), { towers: ['vision'] })).rejects.toBeInstanceOf(ModelFolderError);
    writeFileSync(join(dir, 'broken', 'preprocessor_config.json'), '{"size": 224, "crop_size": 224, "resample": 2}');
    await expect(loadClipModel(join(dir, 'broken'), { towers: ['vision'] })).rejects.toThrow(/preprocessor_config\.json: field "resample"/);
    await expect(loadClipModel(join(dir, 'nowhere'))).rejects.toThrow(/does not exist/);
  });

  it('explains an unavailable execution provider', async () => {
    // Real check against the installed onnxruntime-node: without its CUDA binaries (the project's .npmrc
    // skips them) asking for cuda must fail with the install command, never fall back to the CPU.
    const bin = join(import.meta.dirname, '..', '..', 'node_modules', 'onnxruntime-node', 'bin');
    const hasCuda = readdirSync(bin, { recursive: true }).some((f) => String(f).endsWith('libonnxruntime_providers_cuda.so'));
    const px = new Float32Array(3 * 224 * 224).map((_, i) => Math.cos(i / 300));
    const outcome = await loadClipModel(join(dir, 'tiny'), { provider: 'cuda', towers: ['vision'] }).then(
      async (m) => {
        try {
          return { provider: m.provider, embedding: await m.embedPixels(px, 1) };
        } finally {
          await m.release();
        }
      },
      (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
    );
    if (outcome instanceof Error) {
      // No CUDA binaries, or no usable GPU: the error says so and how to install them, whichever it is.
      expect(outcome).toBeInstanceOf(ModelFolderError);
      expect(`${outcome.message}\n${(outcome as ModelFolderError).hint}`).toMatch(/"cuda" is not available[\s\S]*onnxruntime-node-install=cuda12/);
    } else {
      // CUDA loaded: it must really be the cuda session, computing what the CPU computes.
      expect(hasCuda).toBe(true);
      expect(outcome.provider).toBe('cuda');
      expect(cosine(outcome.embedding, await model.embedPixels(px, 1))).toBeGreaterThan(0.999);
    }
    // Without the binaries, loading can only fail.
    if (!hasCuda) expect(outcome).toBeInstanceOf(ModelFolderError);
  });

  it('runs the fp16 variant through float16 inputs and outputs', async () => {
    const half = await loadClipModel(join(dir, 'tiny'), { dtype: 'fp16', threads: 1 });
    try {
      const px = new Float32Array(3 * 224 * 224).map((_, i) => Math.sin(i / 500));
      const a = await half.embedPixels(px, 1);
      const b = await model.embedPixels(px, 1);
      expect(cosine(a, b)).toBeGreaterThan(0.999);
      const t = await half.embedTexts(['a photo that evokes awe']);
      expect(cosine(t, await model.embedTexts(['a photo that evokes awe']))).toBeGreaterThan(0.999);
    } finally {
      await half.release();
    }
  });

  it('converts float16 both ways', () => {
    const v = Float32Array.from([0, 1, -2.5, 65504, 1e-8, 0.1, 3.14159]);
    const back = halfToFloat32(float32ToHalf(v));
    expect(Array.from(back.subarray(0, 4))).toEqual([0, 1, -2.5, 65504]);
    expect(back[5]).toBeCloseTo(0.1, 3);
    expect(back[6]).toBeCloseTo(3.1406, 3);
  });
});
