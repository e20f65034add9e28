// Training stages end to end on generated embeddings: train -> per-epoch evaluation on three datasets,
// every metric row written (null where not computable), early stopping and the LR schedule, resuming.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { StudyMetric as MetricRow } from '../../src/formats.js';
import { readNpy } from '../../src/io/npy.js';
import { loadHead, predict } from '../../src/eval/predict.js';
import { loadPromptTable, SCORING_KINDS, scoringPrompts } from '../../src/eval/prompts.js';
import { labelledSplit, loadEmbeddingTable, readEmbeddingRows, readManifest } from '../../src/train/data.js';
import { loadTaxonomy } from '../../src/data/taxonomy.js';
import ce from '../../stages/train/cross-entropy.js';
import contrastive from '../../stages/train/contrastive.js';
import zeroShot from '../../stages/eval/zero-shot.js';
import baselines from '../../stages/eval/baselines.js';
import { makeWorld, type World } from './fixtures.js';
import { partialDir, runKind } from '../support/index.js';

let world: World;
beforeAll(() => {
  world = makeWorld(mkdtempSync(join(tmpdir(), 'pipe-train-world-')));
});

const evalSets = (): unknown[] => [
  { dataset: 'webemo', ...world.webemo, taxonomies: ['webemo25', 'webemo6', 'webemo2'] },
  { dataset: 'emotion6', ...world.emotion6, taxonomies: ['emotion6_6', 'emotion6_2'] },
  { dataset: 'fi', ...world.fi, taxonomies: ['fi8', 'fi2'] },
];

const pick = (rows: MetricRow[], q: Partial<MetricRow>): MetricRow[] =>
  rows.filter((r) => Object.entries(q).every(([k, v]) => (r as unknown as Record<string, unknown>)[k] === v));
const one = (rows: MetricRow[], q: Partial<MetricRow>): MetricRow => {
  const hit = pick(rows, q);
  expect(hit, JSON.stringify(q)).toHaveLength(1);
  return hit[0];
};

describe('train/cross-entropy', () => {
  it('trains a webemo6 head well above chance and writes every per-epoch cell, X where not computable', async () => {
    const run = await runKind(ce, { ...world.webemo, taxonomy: 'webemo6', hidden: 32, epochs: 4, lr: 0.005, patience: 10, eval_sets: evalSets() });
    const m = run.metrics;
    for (let epoch = 1; epoch <= 4; epoch++) {
      for (const metric of ['train_loss', 'val_loss', 'lr']) expect(one(m, { epoch, metric }).value).toBeTypeOf('number');
      for (const [dataset, taxonomy] of [['webemo', 'webemo25'], ['webemo', 'webemo2'], ['emotion6', 'emotion6_2'], ['fi', 'fi8'], ['fi', 'fi2']]) {
        const cell = pick(m, { method: 'clipe_cross_entropy', epoch, dataset, taxonomy });
        expect(cell.length).toBeGreaterThanOrEqual(5);
        expect(cell.every((r) => r.value === null)).toBe(true);
      }
      for (const [dataset, taxonomy] of [['webemo', 'webemo6'], ['emotion6', 'emotion6_6']]) {
        const names = pick(m, { method: 'clipe_cross_entropy', epoch, dataset, taxonomy }).map((r) => r.metric).filter((n) => !['train_loss', 'val_loss', 'lr'].includes(n)).sort();
        expect(names).toEqual(['accuracy', 'confusion', 'hier_accuracy', 'macro_f1', 'per_class_accuracy', 'top3_accuracy', 'top5_accuracy']);
      }
    }
    const acc = one(m, { epoch: 4, dataset: 'webemo', taxonomy: 'webemo6', metric: 'accuracy' }).value as number;
    expect(acc).toBeGreaterThan(0.6); // chance 1/6
    expect(one(m, { epoch: 4, dataset: 'emotion6', taxonomy: 'emotion6_6', metric: 'accuracy' }).value).toBeGreaterThan(0.5);
    expect(one(m, { epoch: 4, dataset: 'webemo', taxonomy: 'webemo6', metric: 'hier_accuracy' }).value).toBeGreaterThanOrEqual(acc);
    const conf = one(m, { epoch: 4, dataset: 'webemo', taxonomy: 'webemo6', metric: 'confusion' });
    expect(conf.value).toBe(200);
    expect((conf.detail as { labels: string[] }).labels).toEqual(['anger', 'fear', 'joy', 'love', 'sadness', 'surprise']);
    expect(one(m, { metric: 'stopped_epoch' }).value).toBe(4);
    expect(one(m, { metric: 'selected_epoch' }).value).toBeGreaterThanOrEqual(1);

    // Every epoch is addressable; the head predicts distributions that reproduce the recorded accuracy.
    expect(readdirSync(join(run.outDir, 'checkpoints')).sort()).toEqual(['epoch-001', 'epoch-002', 'epoch-003', 'epoch-004']);
    const head = loadHead(join(run.outDir, 'checkpoints', 'epoch-004'));
    expect(head.meta.classes).toHaveLength(6);
    const table = loadEmbeddingTable(world.webemo.embeddings, world.webemo.index);
    const test = labelledSplit(world.webemo.manifest, readManifest(world.webemo.manifest), table, loadTaxonomy('webemo6'), 'test');
    const pred = await predict(head, readEmbeddingRows(table, test.rows), test.rows.length);
    let hits = 0;
    for (let r = 0; r < test.rows.length; r++) {
      const row = Array.from(pred.probs.subarray(r * 6, r * 6 + 6));
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      if (row.indexOf(Math.max(...row)) === test.labels[r]) hits++;
    }
    expect(hits / test.rows.length).toBeCloseTo(acc, 10);
  });

  it("the authors' one-unit sigmoid head on webemo2 evaluates every binary taxonomy", async () => {
    const run = await runKind(ce, { ...world.webemo, taxonomy: 'webemo2', output: 'sigmoid', hidden: 16, epochs: 2, lr: 0.01, eval_sets: evalSets() });
    for (const [dataset, taxonomy] of [['webemo', 'webemo2'], ['emotion6', 'emotion6_2'], ['fi', 'fi2']]) {
      expect(one(run.metrics, { epoch: 2, dataset, taxonomy, metric: 'accuracy' }).value).toBeTypeOf('number');
    }
    expect(one(run.metrics, { epoch: 2, dataset: 'webemo', taxonomy: 'webemo2', metric: 'accuracy' }).value).toBeGreaterThan(0.75);
    expect(one(run.metrics, { epoch: 2, dataset: 'fi', taxonomy: 'fi8', metric: 'accuracy' }).value).toBeNull();
    expect(readNpy(join(run.outDir, 'head', 'W2.npy')).shape).toEqual([16, 1]);
  });

  it('reduces the learning rate on a plateau and stops early as configured', async () => {
    // min_delta huge: only the first epoch counts as an improvement.
    const run = await runKind(ce, { ...world.webemo, taxonomy: 'webemo6', hidden: 16, epochs: 15, patience: 2, min_delta: 1e9, lr_patience: 1, lr_min_delta: 1e9 });
    const lrs = pick(run.metrics, { metric: 'lr' }).map((r) => r.value as number);
    // The lr row is the rate used during the epoch: reduced after epochs 2 and 3 (no improvement).
    expect(lrs).toHaveLength(3);
    expect(lrs[0]).toBe(1e-3);
    expect(lrs[1]).toBe(1e-3);
    expect(lrs[2]).toBeCloseTo(1e-4, 15);
    expect(pick(run.metrics, { metric: 'lr' }).map((r) => (r.detail as { reduced_after: boolean }).reduced_after)).toEqual([false, true, true]);
    expect(one(run.metrics, { metric: 'stopped_epoch' })).toMatchObject({ value: 3, detail: { reason: 'early_stopping' } });
    expect(one(run.metrics, { metric: 'selected_epoch' }).value).toBe(1);
    expect(loadHead(join(run.outDir, 'head')).meta.epoch).toBe(1);
  });

  it('a killed run resumes from the last finished epoch, bit-identical to an uninterrupted one', async () => {
    const params = { ...world.webemo, taxonomy: 'webemo25', hidden: 16, epochs: 4, patience: 10, eval_sets: evalSets().slice(0, 1) };
    const whole = await runKind(ce, params);
    // A second workspace: the same key, not yet in its store. Interrupted, it keeps runs/partial/<key>/.
    const workspace = mkdtempSync(join(tmpdir(), 'pipe-resume-'));
    const abort = new AbortController();
    await expect(runKind(ce, params, { workspace, signal: abort.signal, onLog: (l) => l.startsWith('epoch 2:') && abort.abort() })).rejects.toThrow(/interrupted/);
    const resumeDir = partialDir(workspace);
    expect(readdirSync(resumeDir).sort()).toEqual(['epoch-001', 'epoch-002']);
    // A writer killed mid-checkpoint leaves only its temp directory behind: it must be ignored.
    mkdirSync(join(resumeDir, 'epoch-003.tmp-99999'));
    const resumed = await runKind(ce, params, { workspace });
    expect(resumed.instance.key).toBe(whole.instance.key);
    expect(one(resumed.metrics, { metric: 'stopped_epoch' }).detail).toMatchObject({ resumed_from: 2 });
    const strip = (rows: MetricRow[]): MetricRow[] => rows.map((r) => (r.metric === 'stopped_epoch' ? { ...r, detail: null } : r));
    expect(strip(resumed.metrics)).toEqual(strip(whole.metrics));
    for (const f of ['W1', 'b1', 'W2', 'b2']) {
      expect(Buffer.compare(Buffer.from(readNpy(join(resumed.outDir, 'head', `${f}.npy`)).data.buffer), Buffer.from(readNpy(join(whole.outDir, 'head', `${f}.npy`)).data.buffer))).toBe(0);
    }
    expect(existsSync(join(resumed.outDir, 'checkpoints', 'epoch-001', 'head.json'))).toBe(true);

    // An unreadable checkpoint (another version, a damaged disk) means a clean rerun, not a failure.
    const damagedWs = mkdtempSync(join(tmpdir(), 'pipe-resume-'));
    const abort2 = new AbortController();
    await expect(runKind(ce, params, { workspace: damagedWs, signal: abort2.signal, onLog: (l) => l.startsWith('epoch 1:') && abort2.abort() })).rejects.toThrow(/interrupted/);
    const damaged = partialDir(damagedWs);
    writeFileSync(join(damaged, 'epoch-001', 'state.json'), '{"epoch": 1, trunc');
    const rerun = await runKind(ce, params, { workspace: damagedWs });
    expect(rerun.logs.some((l) => l.startsWith('resume checkpoint unreadable'))).toBe(true);
    expect(strip(rerun.metrics)).toEqual(strip(whole.metrics));
  });
});

describe('train/contrastive', () => {
  it('trains on SC+SSC+IC pairs and evaluates any taxonomy from prompts', async () => {
    const run = await runKind(contrastive, { ...world.webemo, prompts: world.prompts, taxonomy: 'webemo25', hidden: 32, epochs: 3, patience: 10, eval_sets: evalSets(), extra_eval_prompts: ['own'] });
    const all = run.metrics;
    expect(new Set(all.map((r) => r.method))).toEqual(new Set(['clipe_contrastive']));
    // The paper's protocol gives the method's rows; the extra protocol its own labelled rows.
    const m = all.filter((r) => r.tags?.variant === undefined);
    const own = all.filter((r) => r.tags?.variant === 'prompts=own');
    expect(own.length).toBe(m.filter((r) => r.tags?.prompts !== undefined).length);
    expect(new Set(own.map((r) => r.tags?.prompts))).toEqual(new Set(['own']));
    // Every evaluation row names its prompts; every per-epoch row the weights it was computed with.
    const selected = one(m, { metric: 'selected_epoch' }).value;
    for (const r of all) {
      if (r.epoch !== null) expect(r.tags?.weights, JSON.stringify(r)).toBe([r.epoch === 3 && 'final', r.epoch === selected && 'best'].filter(Boolean).join('+') || 'intermediate');
      if (!['train_loss', 'val_loss', 'lr', 'selected_epoch', 'stopped_epoch'].includes(r.metric)) expect(r.tags?.prompts, JSON.stringify(r)).toBeDefined();
    }
    expect(one(m, { epoch: 3, taxonomy: 'webemo2', metric: 'accuracy' }).tags).toMatchObject({ prompts: 'paper', prompt_taxonomy: 'webemo25' });
    expect(Number(one(m, { epoch: 3, taxonomy: 'webemo2', metric: 'accuracy' }).tags?.synonym_prompts)).toBeGreaterThan(0);
    expect(one(m, { epoch: 3, taxonomy: 'fi8', metric: 'accuracy' }).tags).toMatchObject({ prompts: 'paper', prompt_taxonomy: 'fi8' });
    // head-final is the last epoch trained, head-best the early-stopping selection.
    expect(loadHead(join(run.outDir, 'head-final')).meta.epoch).toBe(3);
    expect(loadHead(join(run.outDir, 'head-best')).meta.epoch).toBe(selected);
    for (const [dataset, taxonomy] of [['webemo', 'webemo25'], ['webemo', 'webemo6'], ['webemo', 'webemo2'], ['emotion6', 'emotion6_6'], ['emotion6', 'emotion6_2'], ['fi', 'fi8'], ['fi', 'fi2']]) {
      expect(one(m, { epoch: 3, dataset, taxonomy, metric: 'accuracy' }).value).toBeTypeOf('number');
    }
    expect(one(m, { epoch: 3, dataset: 'webemo', taxonomy: 'webemo25', metric: 'accuracy' }).value).toBeGreaterThan(0.4); // chance 0.04
    expect(one(m, { epoch: 3, dataset: 'webemo', taxonomy: 'webemo2', metric: 'accuracy' }).value).toBeGreaterThan(0.7);
    expect(one(m, { epoch: 3, dataset: 'webemo', taxonomy: 'webemo25', metric: 'accuracy' }).tags).toMatchObject({ loss: 'soft', prompts: 'paper', captions: 'sc+ssc+ic', reduction: 'sum', confusion: 'sadness' });
    const head = loadHead(join(run.outDir, 'head'));
    const table = loadEmbeddingTable(world.emotion6.embeddings, world.emotion6.index);
    const pred = await predict(head, table.data, table.rowOf.size, { prompts: loadPromptTable(world.prompts), taxonomy: 'emotion6_2', choice: { source: 'mapped', taxonomy: 'webemo25' } });
    expect(pred.classes).toEqual(['negative', 'positive']);
    // Scoring prompts only (no image captions): the same rows and vectors as in the whole table, the same predictions.
    const whole = loadPromptTable(world.prompts);
    const scoring = loadPromptTable(world.prompts, SCORING_KINDS);
    expect(whole.rows.some((r) => r.kind === 'ic')).toBe(true);
    expect(scoring.rows).toEqual(whole.rows.filter((r) => r.kind !== 'ic'));
    const d = whole.texts.dim;
    scoring.rows.forEach((r, k) => {
      const j = whole.rows.findIndex((a) => a.id === r.id);
      expect(scoring.texts.data.subarray(k * d, (k + 1) * d)).toEqual(whole.texts.data.subarray(j * d, (j + 1) * d));
    });
    const again = await predict(head, table.data, table.rowOf.size, { prompts: scoring, taxonomy: 'emotion6_2', choice: { source: 'mapped', taxonomy: 'webemo25' } });
    expect(again.probs).toEqual(pred.probs);
    // What a training stage keeps for its evaluation: the same scoring table, cut from the loaded one.
    expect(scoringPrompts(whole)).toEqual(scoring);
  });

  it('names the method after the caption ablation and supports the hard-target CLIP loss', async () => {
    const run = await runKind(contrastive, { ...world.webemo, prompts: world.prompts, taxonomy: 'webemo6', captions: ['ic', 'sc'], loss: 'hard', hidden: 16, epochs: 1, eval_prompts: 'mapped', eval_sets: evalSets().slice(1) });
    expect(new Set(run.metrics.map((r) => r.method))).toEqual(new Set(['clipe_contrastive_sc_ic']));
    expect(one(run.metrics, { dataset: 'emotion6', taxonomy: 'emotion6_2', metric: 'accuracy' }).tags).toMatchObject({ loss: 'hard', prompts: 'mapped', prompt_taxonomy: 'webemo6' });
    // webemo6 prompts cannot be mapped onto FI's 8 classes: an X cell.
    expect(one(run.metrics, { dataset: 'fi', taxonomy: 'fi8', metric: 'accuracy' }).value).toBeNull();
  });
});

describe('input problems', () => {
  it('leaves out (and counts) images without an embedding; rejects a caption set outside the ablation', async () => {
    const index = join(world.dir, 'emotion6', 'index-partial.jsonl');
    writeFileSync(index, readFileSync(world.emotion6.index, 'utf8').split('\n').filter(Boolean).slice(5).join('\n') + '\n');
    const run = await runKind(baselines, { eval_sets: [{ dataset: 'emotion6', ...world.emotion6, index, taxonomies: ['emotion6_6'] }] });
    expect(one(run.metrics, { method: 'most_represented_class', metric: 'accuracy' }).detail).toEqual({ n: 115, missing_embeddings: 5 });
    await expect(runKind(contrastive, { ...world.webemo, prompts: world.prompts, captions: ['ssc'] })).rejects.toThrow(/not one of the paper's combinations/);
  });

  it('says which prompts are missing', async () => {
    // fi8 has sentiment captions but no synonym table: own_synonyms scores it with its 8 sc prompts alone.
    const fi = await runKind(zeroShot, { prompts: world.prompts, eval_sets: [{ dataset: 'fi', ...world.fi, taxonomies: ['fi8'] }], prompt_source: 'own_synonyms' });
    const acc = one(fi.metrics, { dataset: 'fi', taxonomy: 'fi8', metric: 'accuracy' });
    expect(acc.tags).toMatchObject({ prompts: 'own_synonyms', prompt_taxonomy: 'fi8', prompt_count: '8', synonym_prompts: '0' });
    expect(acc.value).toBeGreaterThanOrEqual(0);
    expect(acc.value).toBeLessThanOrEqual(100);
    await expect(runKind(contrastive, { ...world.webemo, prompts: world.prompts, taxonomy: 'webemo6', captions: ['sc', 'ssc'], epochs: 1 })).rejects.toThrow(/no ssc prompt for webemo6 class\(es\) anger/);
  });
});

describe('eval/zero-shot and eval/baselines', () => {
  it('zero-shot CLIP from own and mapped prompts', async () => {
    const own = await runKind(zeroShot, { prompts: world.prompts, eval_sets: evalSets() });
    expect(one(own.metrics, { dataset: 'webemo', taxonomy: 'webemo25', metric: 'accuracy' })).toMatchObject({ method: 'clip_zero_shot', seed: null, epoch: null });
    expect(one(own.metrics, { dataset: 'webemo', taxonomy: 'webemo25', metric: 'accuracy' }).value).toBeGreaterThan(0.5);
    const mapped = await runKind(zeroShot, { prompts: world.prompts, eval_sets: evalSets(), prompt_source: 'mapped' });
    expect(one(mapped.metrics, { dataset: 'emotion6', taxonomy: 'emotion6_2', metric: 'accuracy' }).value).toBeGreaterThan(0.7);
    expect(one(mapped.metrics, { dataset: 'fi', taxonomy: 'fi8', metric: 'accuracy' }).value).toBeNull();
  });

  it('random and most-represented-class rows', async () => {
    const run = await runKind(baselines, { eval_sets: evalSets() });
    expect(one(run.metrics, { method: 'random', taxonomy: 'webemo25' }).value).toBeCloseTo(1 / 25, 12);
    expect(one(run.metrics, { method: 'random', taxonomy: 'fi8' }).value).toBe(1 / 8);
    // WEBEmo test: 8 images per fine class; negative has 14 of 25 fine classes (confusion -> sadness).
    expect(one(run.metrics, { method: 'most_represented_class', taxonomy: 'webemo2', metric: 'accuracy' }).value).toBeCloseTo(14 / 25, 12);
  });
});
