// Heads trained together through the real CLI: a train/contrastive seed sweep with `group_by: [seed]`
// trains its heads in one call (one runGroup), and gives every head the same key, the same output
// bytes (weights, checkpoints, metrics.jsonl) and the same metric rows as the sweep run one head at a time.
// A grouped train/cross-entropy sweep killed with SIGKILL (its whole process group) in the middle of an
// epoch resumes every head on the next run and ends with the outputs of an uninterrupted run.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectSameFiles } from '../support/bytes.js';
import { byStatus, PIPE_BIN, runPipe, runPipeJson, tempWorkspace, type RunDoc } from '../support/workspace.js';
import { makeWorld } from './fixtures.js';

/** A 3-seed sweep; `ablations`: instead, one seed's caption ablations ([sc] and [sc, ic]: 1 and 2 pairs per image). */
function pipeline(world: ReturnType<typeof makeWorld>, grouped: boolean, ablations = false): string {
  const w = world.webemo;
  const matrix = ablations ? '{ seed: [0], captions: [[sc], [sc, ic]] }' : '{ seed: [0, 1, 2] }';
  return `version: 1
stages:
  contrastive:
    uses: train/contrastive
    matrix: ${matrix}
${grouped ? `    group_by: [seed${ablations ? ', captions' : ''}]\n` : ''}    with:
      seed: "\${matrix.seed}"
      taxonomy: webemo6
      captions: ${ablations ? '"${matrix.captions}"' : '[sc, ic]'}
      hidden: 16
      epochs: 3
      embeddings: ${w.embeddings}
      index: ${w.index}
      manifest: ${w.manifest}
      prompts: { prompts: ${world.prompts.prompts}, embeddings: ${world.prompts.embeddings}, index: ${world.prompts.index} }
      eval_sets:
        - { dataset: webemo, manifest: ${w.manifest}, embeddings: ${w.embeddings}, index: ${w.index}, taxonomies: [webemo6, webemo2] }
        - { dataset: emotion6, manifest: ${world.emotion6.manifest}, embeddings: ${world.emotion6.embeddings}, index: ${world.emotion6.index}, taxonomies: [emotion6_6] }
`;
}

/** Every file of an instance's outputs: path relative to the output -> bytes. */
function files(doc: RunDoc, id: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (root: string, p: string): void => {
    if (statSync(p).isDirectory()) for (const n of readdirSync(p)) walk(root, join(p, n));
    else out.set(relative(root, p), readFileSync(p));
  };
  for (const p of Object.values(doc.instances.find((i) => i.id === id)!.outputs!)) walk(join(p, '..'), p);
  return out;
}

describe('group_by: [seed] on train/contrastive through the CLI', () => {
  it('caption ablations of a seed (epochs of different lengths) train in one call, with the bytes of each trained alone', async () => {
    using ws = tempWorkspace('pipe-train-group-captions-');
    const world = makeWorld(ws.path('data'));
    const grouped = await runPipeJson(['run', ws.write('grouped/p.yaml', pipeline(world, true, true)), '--workspace', ws.path('grouped')], { cwd: ws.dir });
    expect(grouped.exitCode, grouped.stderr).toBe(0);
    const alone = await runPipeJson(['run', ws.write('alone/p.yaml', pipeline(world, false, true)), '--workspace', ws.path('alone')], { cwd: ws.dir });
    expect(alone.exitCode, alone.stderr).toBe(0);
    const ids = grouped.doc.instances.map((i) => i.id);
    expect(ids).toHaveLength(2);
    for (const i of grouped.doc.instances) expect(readFileSync(join(ws.path('grouped'), i.log!), 'utf8')).toMatch(/trained with 1 other head\(s\)/);
    for (const id of ids) expectSameFiles(files(grouped.doc, id), files(alone.doc, id));
  });

  it('trains the seeds in one call, with the keys, bytes and metric rows of the seeds trained alone', async () => {
    using ws = tempWorkspace('pipe-train-group-');
    const world = makeWorld(ws.path('data'));
    const ids = [0, 1, 2].map((s) => `contrastive@seed=${s}`);
    const grouped = await runPipeJson(['run', ws.write('grouped/p.yaml', pipeline(world, true)), '--workspace', ws.path('grouped')], { cwd: ws.dir });
    expect(grouped.exitCode, grouped.stderr).toBe(0);
    const alone = await runPipeJson(['run', ws.write('alone/p.yaml', pipeline(world, false)), '--workspace', ws.path('alone')], { cwd: ws.dir });
    expect(alone.exitCode, alone.stderr).toBe(0);
    expect(byStatus(grouped.doc)).toEqual({ ran: ids });
    // One call: every member's log names the whole group.
    for (const i of grouped.doc.instances) expect(readFileSync(join(ws.path('grouped'), i.log!), 'utf8')).toMatch(/^\[pipe\] group of 3: contrastive@seed=0, contrastive@seed=1, contrastive@seed=2$/m);
    for (const id of ids) {
      const g = grouped.doc.instances.find((i) => i.id === id)!;
      const a = alone.doc.instances.find((i) => i.id === id)!;
      expect(g.key).toBe(a.key);
      expectSameFiles(files(grouped.doc, id), files(alone.doc, id));
    }
    const rows = async (dir: string): Promise<unknown> => JSON.parse((await runPipe(['exp', 'show', 'p.yaml', '--instances', '--json', '--workspace', dir], { cwd: dir })).stdout).rows.map((r: { instance: string; metrics: unknown }) => [r.instance, r.metrics]);
    expect(await rows(ws.path('grouped'))).toEqual(await rows(ws.path('alone')));
  });
});

function cePipeline(world: ReturnType<typeof makeWorld>): string {
  const w = world.webemo;
  return `version: 1
stages:
  ce:
    uses: train/cross-entropy
    matrix: { seed: [0, 1, 2] }
    group_by: [seed]
    with:
      seed: "\${matrix.seed}"
      taxonomy: webemo6
      hidden: 32
      epochs: 8
      patience: 20
      embeddings: ${w.embeddings}
      index: ${w.index}
      manifest: ${w.manifest}
      eval_sets:
        - { dataset: webemo, manifest: ${w.manifest}, embeddings: ${w.embeddings}, index: ${w.index}, taxonomies: [webemo6] }
`;
}

describe('a grouped built-in kind killed through the CLI', () => {
  it('SIGKILL of the process group mid-epoch, then a re-run: every head resumes and ends with the outputs of an uninterrupted run', async () => {
    using ws = tempWorkspace('pipe-train-group-kill-');
    // Enough data for an epoch to take a noticeable time.
    const world = makeWorld(ws.path('data'), [240, 8, 8]);
    const ids = [0, 1, 2].map((s) => `ce@seed=${s}`);
    const reference = await runPipeJson(['run', ws.write('reference/p.yaml', cePipeline(world)), '--workspace', ws.path('reference')], { cwd: ws.dir });
    expect(reference.exitCode, reference.stderr).toBe(0);

    const file = ws.write('killed/p.yaml', cePipeline(world));
    const child = spawn(process.execPath, [PIPE_BIN, 'run', file, '--workspace', ws.path('killed')], { cwd: ws.dir, env: { ...process.env, CI: '1' }, stdio: 'ignore', detached: true });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    // Every head's resume checkpoint of epoch 2 is written: the group is inside epoch 3.
    const partial = ws.path('killed/runs/partial');
    const deadline = Date.now() + 120_000;
    let killed = false;
    while (Date.now() < deadline && !killed) {
      const dirs = existsSync(partial) ? readdirSync(partial) : [];
      if (dirs.length === 3 && dirs.every((d) => existsSync(join(partial, d, 'epoch-002', 'state.json')))) {
        process.kill(-(child.pid as number), 'SIGKILL');
        killed = true;
      } else await new Promise((r) => setTimeout(r, 5));
    }
    await exited;
    expect(killed).toBe(true);

    const again = await runPipeJson(['run', file, '--workspace', ws.path('killed')], { cwd: ws.dir });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(byStatus(again.doc)).toEqual({ ran: ids });
    for (const id of ids) {
      const inst = again.doc.instances.find((i) => i.id === id)!;
      expect(readFileSync(join(ws.path('killed'), inst.log!), 'utf8')).toMatch(/resumed after epoch [2-8] /);
      expect(inst.key).toBe(reference.doc.instances.find((i) => i.id === id)!.key);
      // Every file is the uninterrupted run's, byte for byte, but for one recorded fact: the
      // `stopped_epoch` row says from which epoch the head resumed (docs/heads.md).
      const [got, want] = [files(again.doc, id), files(reference.doc, id)];
      const metrics = [...got.keys()].find((f) => f.endsWith('metrics.jsonl'))!;
      const rows = (m: Map<string, Buffer>): { name: string; detail?: { resumed_from?: number | null } }[] => m.get(metrics)!.toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
      const stopped = (m: Map<string, Buffer>): { resumed_from?: number | null } | undefined => rows(m).find((r) => r.name === 'stopped_epoch')!.detail;
      expect(stopped(want)?.resumed_from).toBeNull();
      expect(stopped(got)?.resumed_from).toBeGreaterThanOrEqual(2);
      const strip = (m: Map<string, Buffer>): unknown => rows(m).map((r) => (r.name === 'stopped_epoch' ? { ...r, detail: { ...r.detail, resumed_from: null } } : r));
      expect(strip(got)).toEqual(strip(want));
      got.delete(metrics);
      want.delete(metrics);
      expectSameFiles(got, want);
    }
    const status = await runPipe(['status', file, '--verify', '--workspace', ws.path('killed')], { cwd: ws.dir });
    expect(status.stdout).toMatch(/3 up to date, 0 stale, 0 new, 0 pending/);
    expect(status.stdout).not.toMatch(/corrupt/);
  });
});
