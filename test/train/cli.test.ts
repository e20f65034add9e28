// The training stages through the real CLI (`pipe run`, a subprocess on dist/): a pipeline trains a CE
// head over a seed matrix with per-epoch evaluation plus the baselines, is cached on the second run, and a
// training run killed with SIGKILL, or interrupted with SIGINT, after its second epoch resumes from that
// epoch's checkpoint.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MetricRow } from '../../src/stage-api.js';
import { studyRows, type StudyMetric } from '../../src/formats.js';
import { byStatus, PIPE_BIN, runPipe, runPipeJson, tempWorkspace } from '../support/workspace.js';
import { makeWorld } from './fixtures.js';

function pipeline(world: ReturnType<typeof makeWorld>, epochs: number, seeds: number[]): string {
  const w = world.webemo;
  return `version: 1
description: CLIP-E CE heads on generated embeddings
stages:
  train-ce:
    uses: train/cross-entropy
    matrix: { seed: ${JSON.stringify(seeds)} }
    with:
      seed: "\${matrix.seed}"
      taxonomy: webemo6
      hidden: 32
      epochs: ${epochs}
      patience: 20
      embeddings: ${w.embeddings}
      index: ${w.index}
      manifest: ${w.manifest}
      eval_sets:
        - { dataset: webemo, manifest: ${w.manifest}, embeddings: ${w.embeddings}, index: ${w.index}, taxonomies: [webemo6, webemo2] }
        - { dataset: emotion6, manifest: ${world.emotion6.manifest}, embeddings: ${world.emotion6.embeddings}, index: ${world.emotion6.index}, taxonomies: [emotion6_6] }
  baselines:
    uses: eval/baselines
    with:
      eval_sets:
        - { dataset: webemo, manifest: ${w.manifest}, embeddings: ${w.embeddings}, index: ${w.index}, taxonomies: [webemo6] }
`;
}

const metricsOf = (outputs: Record<string, string> | undefined): StudyMetric[] =>
  studyRows(readFileSync(outputs?.metrics as string, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as MetricRow));

describe('pipe run with train/cross-entropy and eval/baselines', () => {
  it('trains over a seed matrix, records per-epoch metrics, and is cached on the second run', async () => {
    using ws = tempWorkspace('pipe-train-cli-');
    const world = makeWorld(ws.path('data'));
    const file = ws.write('pipelines/ce.yaml', pipeline(world, 3, [0, 1]));
    const first = await runPipeJson(['run', file, '--workspace', ws.dir], { cwd: ws.dir });
    expect(first.exitCode, first.stderr).toBe(0);
    expect(byStatus(first.doc)).toEqual({ ran: ['baselines', 'train-ce@seed=0', 'train-ce@seed=1'] });
    const seed1 = first.doc.instances.find((i) => i.id === 'train-ce@seed=1');
    const rows = metricsOf(seed1?.outputs);
    expect(rows.filter((r) => r.metric === 'accuracy' && r.dataset === 'emotion6').map((r) => r.epoch)).toEqual([1, 2, 3]);
    expect(rows.every((r) => r.seed === 1 && r.method === 'clipe_cross_entropy')).toBe(true);
    expect(existsSync(join(seed1?.outputs?.head as string, 'head.json'))).toBe(true);
    const second = await runPipeJson(['run', file, '--workspace', ws.dir], { cwd: ws.dir });
    expect(byStatus(second.doc)).toEqual({ cached: ['baselines', 'train-ce@seed=0', 'train-ce@seed=1'] });
  });

  // SIGINT: the training runs in a worker thread (the kind's isolation), which the engine stops through
  // its abort and records as interrupted; SIGKILL: nothing is recorded, the next run finds the checkpoints.
  it.each(['SIGKILL', 'SIGINT'] as const)('resumes a training stage stopped by %s from its last finished epoch', async (sig) => {
    using ws = tempWorkspace('pipe-train-kill-');
    // Enough data for an epoch to take a noticeable time.
    const world = makeWorld(ws.path('data'), [240, 8, 8]);
    const file = ws.write('pipelines/ce.yaml', pipeline(world, 12, [0]));
    const child = spawn(process.execPath, [PIPE_BIN, 'run', file, '--only', 'train-ce@*', '--workspace', ws.dir], { cwd: ws.dir, env: { ...process.env, CI: '1' }, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const partial = ws.path('runs/partial');
    const deadline = Date.now() + 60_000;
    let killed = false;
    while (Date.now() < deadline) {
      const dirs = existsSync(partial) ? readdirSync(partial) : [];
      if (dirs.some((d) => existsSync(join(partial, d, 'epoch-002', 'state.json')))) {
        child.kill(sig);
        killed = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const code = await exited;
    expect(killed).toBe(true);
    if (sig === 'SIGINT') {
      expect(code).toBe(1);
      const runs = JSON.parse((await runPipe(['runs', '--json'], { cwd: ws.dir })).stdout) as { status: string }[];
      expect(runs.map((r) => r.status)).toEqual(['interrupted']);
    }
    const again = await runPipeJson(['run', file, '--only', 'train-ce@*', '--workspace', ws.dir], { cwd: ws.dir });
    expect(again.exitCode, again.stderr).toBe(0);
    const inst = again.doc.instances.find((i) => i.id === 'train-ce@seed=0');
    expect(inst?.status).toBe('ran');
    const log = readFileSync(resolve(ws.dir, inst?.log as string), 'utf8');
    expect(log).toMatch(/resumed after epoch (\d+)/);
    const rows = metricsOf(inst?.outputs);
    expect(rows.filter((r) => r.metric === 'val_loss').map((r) => r.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(readdirSync(inst?.outputs?.checkpoints as string)).toHaveLength(12);
  });
});
