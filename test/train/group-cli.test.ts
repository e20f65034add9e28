// Heads trained together through the real CLI: a train/contrastive seed sweep with `group_by: [seed]`
// trains its heads in one call (one runGroup), and gives every head the same key, the same output
// bytes (weights, checkpoints, metrics.jsonl) and the same metric rows as the sweep run one head at a time.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { byStatus, runPipe, runPipeJson, tempWorkspace, type RunDoc } from '../support/workspace.js';
import { makeWorld } from './fixtures.js';

function pipeline(world: ReturnType<typeof makeWorld>, grouped: boolean): string {
  const w = world.webemo;
  return `version: 1
stages:
  contrastive:
    uses: train/contrastive
    matrix: { seed: [0, 1, 2] }
${grouped ? '    group_by: [seed]\n' : ''}    with:
      seed: "\${matrix.seed}"
      taxonomy: webemo6
      captions: [sc, ic]
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
      expect(files(grouped.doc, id)).toEqual(files(alone.doc, id));
    }
    const rows = async (dir: string): Promise<unknown> => JSON.parse((await runPipe(['exp', 'show', 'p.yaml', '--instances', '--json', '--workspace', dir], { cwd: dir })).stdout).rows.map((r: { instance: string; metrics: unknown }) => [r.instance, r.metrics]);
    expect(await rows(ws.path('grouped'))).toEqual(await rows(ws.path('alone')));
  });
});
