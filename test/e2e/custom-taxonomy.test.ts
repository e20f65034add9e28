// A user-defined taxonomy (two levels, neither built in) end to end: ingest, prompts, CE and contrastive
// heads trained on it and evaluated at both levels, zero-shot, baselines and `pipe predict`'s library
// call, every stage finding the files through its `taxonomy_dir` param alone (no PIPE_TAXONOMY_PATH).
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipeline, type RunResult } from '../../src/engine/index.js';
import { predictRun } from '../../src/report/predict-run.js';
import { openStore } from '../../src/store/index.js';
import type { MetricRow as Generic } from '../../src/stage-api.js';
import { studyRows, type StudyMetric as MetricRow } from '../../src/formats.js';
import { tempWorkspace, type TempWorkspace } from '../support/index.js';

const MOODS2 = `id: moods2
dataset: moods
binary: true
classes: [{ id: positive }, { id: negative }]
`;
const MOODS3 = `id: moods3
dataset: moods
description: a made-up three-mood taxonomy
parent: moods2
classes:
  - { id: calm, parent: positive }
  - { id: joyful, name: full of joy, parent: positive }
  - { id: gloomy, parent: negative }
`;

const PIPELINE = `
version: 1
stages:
  moods:
    uses: ingest/folder-per-class
    with: { root: data/moods, layout: plain, taxonomy: moods3, taxonomy_dir: tax, split_files: { train: data/train.txt, val: data/val.txt, test: data/test.txt } }
  model:
    uses: clip/tiny-model
  embed:
    uses: clip/embed-images
    with: { manifest: "\${stages.moods.outputs.manifest}", model: "\${stages.model.outputs.model}" }
  prompts:
    uses: prompts/build
    with: { taxonomies: [moods3, moods2], taxonomy_dir: tax }
  embed-prompts:
    uses: clip/embed-texts
    with: { prompts: "\${stages.prompts.outputs.prompts}", model: "\${stages.model.outputs.model}" }
  train-ce:
    uses: train/cross-entropy
    with:
      taxonomy: moods3
      dataset: moods
      taxonomy_dir: tax
      epochs: 2
      batch_size: 4
      embeddings: "\${stages.embed.outputs.embeddings}"
      index: "\${stages.embed.outputs.index}"
      manifest: "\${stages.moods.outputs.manifest}"
      eval_sets: &sets
        - { dataset: moods, taxonomies: [moods3, moods2], manifest: "\${stages.moods.outputs.manifest}", embeddings: "\${stages.embed.outputs.embeddings}", index: "\${stages.embed.outputs.index}" }
  contrastive:
    uses: train/contrastive
    with:
      taxonomy: moods3
      dataset: moods
      taxonomy_dir: tax
      captions: [sc]
      epochs: 2
      batch_size: 4
      embeddings: "\${stages.embed.outputs.embeddings}"
      index: "\${stages.embed.outputs.index}"
      manifest: "\${stages.moods.outputs.manifest}"
      prompts: &prompts { prompts: "\${stages.prompts.outputs.prompts}", embeddings: "\${stages.embed-prompts.outputs.embeddings}", index: "\${stages.embed-prompts.outputs.index}" }
      eval_sets: *sets
  zero-shot:
    uses: eval/zero-shot
    with: { taxonomy_dir: tax, prompts: *prompts, eval_sets: *sets }
  baselines:
    uses: eval/baselines
    with: { eval_sets: *sets, taxonomy_dir: tax }
`;

let ws: TempWorkspace;
let run: RunResult;

beforeAll(async () => {
  ws = tempWorkspace('pipe-e2e-taxonomy-');
  ws.write('tax/moods2.yaml', MOODS2);
  ws.write('tax/moods3.yaml', MOODS3);
  const splits: Record<string, string[]> = { train: [], val: [], test: [] };
  const colours: Record<string, [number, number, number]> = { calm: [40, 90, 200], joyful: [250, 200, 40], gloomy: [60, 60, 60] };
  for (const [cls, [r, g, b]] of Object.entries(colours)) {
    for (let i = 0; i < 10; i++) {
      const rel = `${cls}/${i}.jpg`;
      // Distinct content per image: a duplicate across splits would be reported as a leak.
      const jpg = await sharp({ create: { width: 32, height: 32, channels: 3, background: { r, g: (g + 7 * i) % 256, b } } }).jpeg().toBuffer();
      ws.write(`data/moods/${rel}`, jpg);
      splits[i < 6 ? 'train' : i < 8 ? 'val' : 'test'].push(rel);
    }
  }
  for (const [split, files] of Object.entries(splits)) ws.write(`data/${split}.txt`, `${files.join('\n')}\n`);
  ws.write('p.yaml', PIPELINE);
  run = await runPipeline({ file: 'p.yaml', workspace: ws.dir });
}, 120_000);
afterAll(() => ws?.cleanup());

function metrics(id: string): MetricRow[] {
  const path = run.instances.find((i) => i.id === id)?.outputs?.metrics;
  expect(path, `${id} has no metrics output`).toBeDefined();
  return studyRows(readFileSync(path!, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Generic));
}

const accuracyBy = (rows: readonly MetricRow[], taxonomy: string): MetricRow[] => rows.filter((r) => r.metric === 'accuracy' && r.taxonomy === taxonomy);

describe('a user taxonomy given as taxonomy_dir', () => {
  it('runs every stage', () => {
    expect(run.instances.filter((i) => i.status !== 'ran').map((i) => `${i.id}: ${i.error ?? i.reason}`)).toEqual([]);
    expect(run.status).toBe('succeeded');
  });

  it('trains a head on it and evaluates it at both of its levels', () => {
    const rows = metrics('train-ce');
    for (const tax of ['moods3', 'moods2']) expect(accuracyBy(rows, tax).map((r) => r.epoch).sort(), tax).toEqual([1, 2]);
    for (const r of accuracyBy(rows, 'moods3')) expect(r.value).toEqual(expect.any(Number));
    // A 3-class CE head cannot predict the binary level: an 'X' cell, as for the built-in taxonomies.
    for (const r of accuracyBy(rows, 'moods2')) expect(r.value).toBeNull();
    expect(rows.find((r) => r.metric === 'train_loss')).toMatchObject({ dataset: 'moods', taxonomy: 'moods3' });
  });

  it('scores it with a contrastive head and zero-shot from its own prompts, and gives baselines for it', () => {
    for (const id of ['contrastive', 'zero-shot', 'baselines']) {
      const rows = metrics(id);
      for (const tax of ['moods3', 'moods2']) expect(accuracyBy(rows, tax).length, `${id} ${tax}`).toBeGreaterThan(0);
    }
    expect(accuracyBy(metrics('baselines'), 'moods3').find((r) => r.method === 'random')?.value).toBeCloseTo(1 / 3, 9);
  });

  it("predicts its classes from the run's contrastive head", async () => {
    const store = openStore(ws.path('runs/pipe.db'));
    try {
      for (const [taxonomy, classes] of [[undefined, ['calm', 'gloomy', 'joyful']], ['moods2', ['negative', 'positive']]] as const) {
        const r = await predictRun(store, [ws.path('data/moods/calm/9.jpg')], { workspace: ws.dir, run: run.run!, head: 'contrastive', taxonomy, top: 0, log: () => undefined });
        const got = r.predictions[0].classes;
        expect(got.map((c) => c.class).sort()).toEqual(classes);
        expect(got.reduce((s, c) => s + c.p, 0)).toBeCloseTo(1, 5);
      }
    } finally {
      store.close();
    }
  });

  it('fails, naming the taxonomy, in a stage without taxonomy_dir', async () => {
    ws.write('q.yaml', PIPELINE.replace('with: { eval_sets: *sets, taxonomy_dir: tax }', 'with: { eval_sets: *sets }'));
    const r = await runPipeline({ file: 'q.yaml', workspace: ws.dir, only: ['baselines'] });
    const baselines = r.instances.find((i) => i.id === 'baselines');
    expect(baselines?.status).toBe('failed');
    expect(baselines?.error).toMatch(/taxonomy "moods3"/);
  });
});
