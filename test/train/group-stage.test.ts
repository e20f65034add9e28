// The training stages' runGroup through the real engine (runPipeline, `group_by: [seed]`): a seed sweep
// of CE and contrastive heads trained together writes, for every seed, exactly the metric rows and head
// files that the same sweep writes with every instance trained alone; a seed already cached is not
// retrained, the others train together. The members of a group share one copy of their inputs.
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runPipeline, silentReporter, type RunResult } from '../../src/engine/index.js';
import { Layout } from '../../src/engine/layout.js';
import type { StageKind } from '../../src/stage-api.js';
import { loadTrainingData, SharedInputs, type CommonTrainParams } from '../../src/train/stage.js';
import ce from '../../stages/train/cross-entropy.js';
import contrastive from '../../stages/train/contrastive.js';
import { expectSameBytes } from '../support/bytes.js';
import { makeWorld, type World } from './fixtures.js';

let world: World;
beforeAll(() => {
  world = makeWorld(mkdtempSync(join(tmpdir(), 'pipe-group-world-')));
});

function pipeline(seeds: readonly number[], grouped: boolean): string {
  const w = world.webemo;
  const sets = `
        - { dataset: webemo, manifest: ${w.manifest}, embeddings: ${w.embeddings}, index: ${w.index}, taxonomies: [webemo25, webemo6] }
        - { dataset: emotion6, manifest: ${world.emotion6.manifest}, embeddings: ${world.emotion6.embeddings}, index: ${world.emotion6.index}, taxonomies: [emotion6_6] }`;
  const common = `matrix: { seed: ${JSON.stringify(seeds)} }${grouped ? '\n    group_by: [seed]' : ''}
    with:
      seed: "\${matrix.seed}"
      hidden: 32
      epochs: 6
      patience: 1
      lr: 0.01
      embeddings: ${w.embeddings}
      index: ${w.index}
      manifest: ${w.manifest}
      eval_sets:${sets}`;
  return `version: 1
stages:
  ce:
    uses: train/cross-entropy
    ${common}
      taxonomy: webemo6
  co:
    uses: train/contrastive
    ${common}
      prompts: { prompts: ${world.prompts.prompts}, embeddings: ${world.prompts.embeddings}, index: ${world.prompts.index} }
`;
}

const kinds = { [ce.kind]: ce, [contrastive.kind]: contrastive } as Record<string, StageKind<unknown>>;

async function run(workspace: string, seeds: readonly number[], grouped: boolean): Promise<RunResult> {
  const file = join(workspace, 'pipeline.yaml');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(file, pipeline(seeds, grouped));
  const result = await runPipeline({ file: 'pipeline.yaml', workspace, kinds, reporter: silentReporter });
  expect(result.status, JSON.stringify(result.instances.map((i) => [i.id, i.status, i.error]))).toBe('succeeded');
  return result;
}

/** An instance's metric rows and head files, by instance id. */
function outputsOf(workspace: string, result: RunResult): Map<string, { metrics: string; heads: Record<string, string> }> {
  const layout = new Layout(workspace);
  return new Map(result.instances.map((i) => {
    const dir = layout.store(i.key as string);
    const heads: Record<string, string> = {};
    for (const h of ['head', 'head-final', 'head-best']) for (const f of readdirSync(join(dir, h))) heads[`${h}/${f}`] = readFileSync(join(dir, h, f)).toString('base64');
    return [i.id, { metrics: readFileSync(i.outputs?.metrics as string, 'utf8'), heads }];
  }));
}

const logOf = (workspace: string, result: RunResult, id: string): string => readFileSync(new Layout(workspace).log(result.run as number, id), 'utf8');

describe('train/* runGroup (group_by: [seed])', () => {
  it('trains a seed sweep together with the same rows and head files as alone; a cached seed is not retrained', async () => {
    const seeds = [0, 1, 2];
    const aloneWs = mkdtempSync(join(tmpdir(), 'pipe-group-alone-'));
    const alone = outputsOf(aloneWs, await run(aloneWs, seeds, false));

    const groupWs = mkdtempSync(join(tmpdir(), 'pipe-group-together-'));
    await run(groupWs, [1], true);
    const result = await run(groupWs, seeds, true);
    const status = Object.fromEntries(result.instances.map((i) => [i.id, i.status]));
    expect(status).toEqual({ 'ce@seed=0': 'ran', 'ce@seed=1': 'cached', 'ce@seed=2': 'ran', 'co@seed=0': 'ran', 'co@seed=1': 'cached', 'co@seed=2': 'ran' });
    for (const id of ['ce@seed=0', 'co@seed=2']) expect(logOf(groupWs, result, id)).toContain('trained with 1 other head(s)');

    const together = outputsOf(groupWs, result);
    for (const [id, out] of alone) {
      expect(together.get(id)?.metrics, id).toBe(out.metrics);
      expect(together.get(id)?.heads, id).toEqual(out.heads);
    }
    // The seeds did train differently (and patience 1 stops them when their own validation loss says so).
    const stopped = seeds.map((s) => JSON.parse(alone.get(`co@seed=${s}`)?.metrics.split('\n').find((l) => l.includes('"stopped_epoch"')) as string).value as number);
    expect(stopped.every((e) => e >= 1 && e <= 6)).toBe(true);
    expect(alone.get('co@seed=0')?.heads['head/W1.npy']).not.toBe(alone.get('co@seed=1')?.heads['head/W1.npy']);
  });
});

describe('inputs of a group', () => {
  it('the members of one call share one copy of the embedding table and manifest; another call loads its own', () => {
    const w = world.webemo;
    const params = (seed: number): CommonTrainParams => ({ embeddings: w.embeddings, index: w.index, manifest: w.manifest, taxonomy: 'webemo6', confusion: 'sadness', train_split: 'train', val_split: 'val', seed } as CommonTrainParams);
    const shared = new SharedInputs();
    const [a, b] = [0, 1].map((seed) => loadTrainingData(params(seed), () => undefined, shared));
    expect(b.table.data).toBe(a.table.data);
    expect(b.train).toEqual(a.train);
    const other = loadTrainingData(params(0), () => undefined);
    expect(other.table.data).not.toBe(a.table.data);
    expectSameBytes(other.table.data, a.table.data);
  });
});
