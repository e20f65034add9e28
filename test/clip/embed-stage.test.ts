// clip/embed-images and clip/embed-texts end to end through the engine on a generated model and generated
// images: real worker threads (compiled dist/, built by `npm test`), real onnxruntime, real files, the
// per-image cache in the workspace's kind cache directory.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateClipModel } from '../../src/clip/generate.js';
import type { EmbeddingIndexRow, ManifestRow, PromptRow } from '../../src/formats.js';
import { readJsonl, writeJsonl } from '../../src/io/jsonl.js';
import { readMatrix } from '../../src/io/npy.js';
import embedImages, { type EmbedImagesParams, type FailedRow } from '../../stages/clip/embed-images.js';
import embedTexts from '../../stages/clip/embed-texts.js';
import tinyModel from '../../stages/clip/tiny-model.js';
import { expectSameBytes, KindRunError, runKind } from '../support/index.js';
import { fileRow, jpegFolder, tempDir } from './support.js';

let dir: string;
let model: string;
let rows: ManifestRow[];

beforeAll(async () => {
  dir = tempDir('clip-embed');
  model = join(dir, 'model');
  generateClipModel(model, { seed: 1 });
  rows = await jpegFolder(join(dir, 'images'), 12, 1);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const params = (manifest: string, extra: Partial<EmbedImagesParams> = {}): EmbedImagesParams => ({
  manifest, model, dtype: 'fp32', provider: 'cpu', batch_size: 4, on_error: 'skip', workers: 1, exif_transpose: false, ...extra,
});

async function embed(name: string, manifestRows: ManifestRow[], extra: Partial<EmbedImagesParams> = {}) {
  const manifest = join(dir, `${name}.jsonl`);
  writeJsonl(manifest, manifestRows);
  // Forced: every call runs the stage (a store hit would run nothing), so what is measured is its own
  // per-image cache. `dir` is the workspace: one store and one kind cache for the whole file.
  const run = await runKind(embedImages, params(manifest, extra), { workspace: dir, force: true });
  return {
    run,
    matrix: readMatrix(run.outputs.embeddings),
    index: readJsonl<EmbeddingIndexRow>(run.outputs.index),
    failed: readJsonl<FailedRow>(run.outputs.failed),
    toEmbed: Number(/(\d+) to embed/.exec(run.logs.join('\n'))?.[1]),
  };
}

describe('clip/embed-images', () => {
  it('embeds a folder, then embeds nothing the second time, then only the added images', async () => {
    const first = await embed('m1', rows.slice(0, 8));
    expect(first.toEmbed).toBe(8);
    expect(first.matrix.rows).toBe(8);
    expect(first.matrix.cols).toBe(512);
    expect(first.index.map((r) => r.id)).toEqual(rows.slice(0, 8).map((r) => r.id));
    expect(first.index.map((r) => r.row)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(first.failed).toEqual([]);

    const again = await embed('m1', rows.slice(0, 8));
    expect(again.toEmbed).toBe(0);
    expectSameBytes(again.matrix.data, first.matrix.data);

    const grown = await embed('m2', rows);
    expect(grown.toEmbed).toBe(4);
    expectSameBytes(grown.matrix.data.subarray(0, 8 * 512), first.matrix.data);

    // Cached vectors are the ones a fresh cache computes (batch composition does not matter).
    const fresh = await embed('m2', rows, { batch_size: 5, workers: 0 });
    expect(fresh.toEmbed).toBe(0);
    rmSync(join(dir, 'runs', 'kind-cache'), { recursive: true });
    const recomputed = await embed('m2', rows, { batch_size: 5 });
    expect(recomputed.toEmbed).toBe(12);
    // toBeCloseTo(x, 4) of every element, in one assertion (6,144 expect() calls cost ~0.3 s).
    const far = [...grown.matrix.data.keys()].filter((i) => !(Math.abs(recomputed.matrix.data[i] - grown.matrix.data[i]) < 5e-5));
    expect(far, 'elements further apart than toBeCloseTo(x, 4) allows').toEqual([]);
  });

  it('reports and skips corrupt files, keeping manifest order', async () => {
    const truncated = readFileSync(rows[0].path).subarray(0, 400);
    const bad = [
      fileRow('bad/text', join(dir, 'images', 'not-an-image.jpg'), Buffer.from('this is not a JPEG')),
      fileRow('bad/truncated', join(dir, 'images', 'truncated.jpg'), truncated),
    ];
    const missing: ManifestRow = { id: 'bad/missing', path: join(dir, 'images', 'gone.jpg'), hash: 'f'.repeat(64), split: 'test', labels: {} };
    const mixed = [rows[0], bad[0], rows[1], bad[1], missing, rows[2]];
    const r = await embed('bad', mixed);
    expect(r.index.map((x) => x.id)).toEqual([rows[0].id, rows[1].id, rows[2].id]);
    expect(r.matrix.rows).toBe(3);
    expect(r.failed.map((f) => f.id)).toEqual(['bad/text', 'bad/truncated', 'bad/missing']);
    expect(r.failed[2].error).toMatch(/ENOENT/);
    const log = r.run.logs.join('\n');
    expect(log).toMatch(/3 images failed \(listed in the output "failed", failed\.jsonl\)/);
    expect(log).toContain(`skipped ${bad[0].path}: `);
    // Every path a log line names still exists after the commit (none into the attempt's runs/tmp/).
    for (const path of log.match(/\/[^\s:()'"]+/g) ?? []) if (path.startsWith(dir) && !path.endsWith('gone.jpg')) expect(existsSync(path), path).toBe(true);
    const failed: unknown = await embed('bad-fail', mixed, { on_error: 'fail' }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(KindRunError);
    // A StageError: the engine shows its hint (another error would get a stack trace there).
    expect((failed as KindRunError).run.instance.hint).toMatch(/set on_error: skip/);
  });

  it('exif_transpose: true embeds the upright image, in cache entries of its own', async () => {
    const golden = join(import.meta.dirname, '..', 'golden', 'clip', 'images', 'exif6-200x260.jpg');
    const row = fileRow('exif/rotated', join(dir, 'images', 'exif6.jpg'), readFileSync(golden));
    const asPil = await embed('exif', [row]);
    const upright = await embed('exif', [row], { exif_transpose: true });
    expect(upright.toEmbed).toBe(1); // not the unrotated image's cache entry
    expect(upright.matrix.data).not.toEqual(asPil.matrix.data);
    expect((await embed('exif', [row], { exif_transpose: true })).toEmbed).toBe(0);
  });

  it('fails clearly when the model folder lacks a file', async () => {
    await expect(embed('m1', rows.slice(0, 2), { dtype: 'q8' })).rejects.toThrow(/missing onnx\/vision_model_quantized\.onnx/);
  });
});

describe('clip/embed-texts and clip/tiny-model', () => {
  it('embeds prompts with a generated model folder', async () => {
    const tiny = await runKind(tinyModel, { seed: 1, text_attention_mask: false }, { workspace: dir });
    // Same seed, same bytes: the generator is deterministic.
    expectSameBytes(readFileSync(join(tiny.outputs.model, 'onnx', 'text_model.onnx')), readFileSync(join(model, 'onnx', 'text_model.onnx')), 'text_model.onnx');
    const prompts: PromptRow[] = ['joy', 'sadness', 'anger'].map((c) => ({ id: `sc/${c}`, kind: 'sc', text: `a photo that seems to express ${c}`, taxonomy: 'webemo6', class: c }));
    writeJsonl(join(dir, 'prompts.jsonl'), prompts);
    const texts = await runKind(embedTexts, { prompts: join(dir, 'prompts.jsonl'), model: tiny.outputs.model, dtype: 'fp32', provider: 'cpu', batch_size: 2 }, { workspace: dir });
    const m = readMatrix(texts.outputs.embeddings);
    expect([m.rows, m.cols]).toEqual([3, 512]);
    expect(readJsonl<EmbeddingIndexRow>(texts.outputs.index)).toEqual(prompts.map((p, row) => ({ id: p.id, row, text: p.text })));
  });
});
