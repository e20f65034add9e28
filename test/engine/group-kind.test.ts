// group_by on a built-in kind with runGroup, through the programmatic API (the kind is defined here):
// one call for the uncached members, each committed under the key it has when run alone, members that
// fail alone (GroupFailure) do not take the others down, and grouped and separate runs give the same
// outputs and metric rows.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defineStage, GroupFailure, type StageContext } from '../../src/stage-api.js';
import { openStore } from '../../src/store/index.js';
import { runEngine, statuses, tempWorkspace, type TempWorkspace } from '../support/index.js';

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

interface P {
  seed: number;
}

/** Calls of runGroup (the members' seeds) and of run, as they happened. */
const calls: { group: number[][]; single: number[] } = { group: [], single: [] };
/** Seeds whose member fails inside runGroup. */
let failing = new Set<number>();

function train(ctx: StageContext<P>): void {
  const { seed } = ctx.params;
  ctx.log(`training seed ${seed}`);
  for (let epoch = 1; epoch <= 2; epoch++) ctx.metric({ name: 'loss', value: seed / epoch, step: epoch, tags: { seed } });
  writeFileSync(ctx.output('model'), `weights of seed ${seed}\n`);
  writeFileSync(join(ctx.resumeDir, 'ckpt'), 'x');
}

const heads = defineStage<P>({
  kind: 'test/heads',
  version: '1',
  description: 'A head per seed; several heads train in one call.',
  params: { type: 'object', additionalProperties: false, required: ['seed'], properties: { seed: { type: 'integer' } } },
  outputs: { model: { path: 'model.txt', description: 'the weights' } },
  async run(ctx) {
    calls.single.push(ctx.params.seed);
    train(ctx);
  },
  async runGroup(ctxs) {
    calls.group.push(ctxs.map((c) => c.params.seed));
    const failed = new Map<string, Error>();
    for (const ctx of ctxs) {
      if (failing.has(ctx.params.seed)) failed.set(ctx.instanceId, new Error(`seed ${ctx.params.seed} diverged`));
      else train(ctx);
    }
    if (failed.size) throw new GroupFailure(failed);
  },
});

function pipeline(grouped: boolean): string {
  return `
params: { seeds: [0, 1, 2, 3] }
stages:
  heads:
    uses: test/heads
    matrix: { seed: "\${params.seeds}" }
${grouped ? '    group_by: [seed]\n' : ''}    with: { seed: "\${matrix.seed}" }
`;
}

function setup(grouped: boolean): void {
  ws = tempWorkspace();
  ws.write('p.yaml', pipeline(grouped));
  calls.group = [];
  calls.single = [];
  failing = new Set();
}

const IDS = [0, 1, 2, 3].map((s) => `heads@seed=${s}`);

/** Everything a run left per member: key, output bytes, metric rows. */
function results(r: Awaited<ReturnType<typeof runEngine>>): Record<string, { key: string | null; model: string; metrics: unknown[] }> {
  const store = openStore(join(ws.dir, 'runs', 'pipe.db'));
  try {
    const rows = store.metricsForRun(r.run!);
    return Object.fromEntries(
      r.instances.map((i) => [
        i.id,
        { key: i.key, model: readFileSync(i.outputs!.model, 'utf8'), metrics: rows.filter((m) => m.stageKey === i.key).map((m) => [m.name, m.value, m.step, m.tags]) },
      ]),
    );
  } finally {
    store.close();
  }
}

describe('group_by on a kind with runGroup', () => {
  it('one call for the uncached members; grouped and separate runs give the same keys, outputs and metric rows', async () => {
    setup(false);
    const separate = await runEngine(ws.dir, 'p.yaml', { kinds: [heads], sets: ['seeds=[0,1]'] });
    expect(statuses(separate)).toEqual({ ran: IDS.slice(0, 2) });
    expect(calls).toEqual({ group: [], single: [0, 1] });

    // Grouping changes no key: the two finished heads are cached, the other two train in one call.
    ws.write('p.yaml', pipeline(true));
    const grouped = await runEngine(ws.dir, 'p.yaml', { kinds: [heads] });
    expect(statuses(grouped)).toEqual({ cached: IDS.slice(0, 2), ran: IDS.slice(2) });
    expect(calls.group).toEqual([[2, 3]]);
    const g = results(grouped);

    // The same four heads run one by one in a fresh workspace: identical keys, bytes and rows.
    const groupedDir = ws.dir;
    setup(false);
    const alone = results(await runEngine(ws.dir, 'p.yaml', { kinds: [heads] }));
    expect(alone).toEqual(g);
    expect(g['heads@seed=3'].metrics).toEqual([
      ['loss', 3, 1, { seed: 3 }],
      ['loss', 1.5, 2, { seed: 3 }],
    ]);
    expect(readFileSync(join(groupedDir, 'runs', 'logs', String(grouped.run), 'heads@seed=3.log'), 'utf8')).toMatch(/^training seed 3$/m);
  });

  it('a member that fails in the call fails alone; the others are committed, and the next run passes only it', async () => {
    setup(true);
    failing = new Set([1]);
    const r = await runEngine(ws.dir, 'p.yaml', { kinds: [heads], keepGoing: true });
    expect(statuses(r)).toEqual({ failed: ['heads@seed=1'], ran: ['heads@seed=0', 'heads@seed=2', 'heads@seed=3'] });
    expect(r.instances.find((i) => i.id === 'heads@seed=1')!.error).toMatch(/seed 1 diverged/);
    failing = new Set();
    const again = await runEngine(ws.dir, 'p.yaml', { kinds: [heads] });
    expect(statuses(again)).toEqual({ cached: ['heads@seed=0', 'heads@seed=2', 'heads@seed=3'], ran: ['heads@seed=1'] });
    expect(calls.group).toEqual([[0, 1, 2, 3], [1]]);
  });
});
