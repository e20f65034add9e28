// Publish targets as a pipeline file declares them (src/pipeline/publish.ts), in the test process: the long
// `outs:` form split from the paths the key sees, the targets resolved per instance, and every refused
// target located. publish.test.ts publishes through `pipe run`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitOuts } from '../../src/pipeline/publish.js';
import { tempWorkspace, type TempWorkspace } from '../support/index.js';
import { loader, testKind } from '../support/load.js';

let ws: TempWorkspace;
beforeAll(() => {
  ws = tempWorkspace();
});
afterAll(() => ws.cleanup());

const KIND = testKind('test/model');
const { ok, errors } = loader(() => ws, { 'test/model': KIND });

describe('splitOuts', () => {
  it('keeps the paths of both forms as outs: and gathers the targets of both places', () => {
    expect(splitOuts({ outs: { a: 'a.txt', b: { path: 'b.txt', publish: 'r/b.txt' }, c: { path: 'c.txt' } }, publish: { a: 'r/a.txt' } })).toEqual({
      outs: { a: 'a.txt', b: 'b.txt', c: 'c.txt' },
      publish: { b: 'r/b.txt', a: 'r/a.txt' },
    });
    expect(splitOuts({ outs: { a: 'a.txt' } })).toEqual({ outs: { a: 'a.txt' } });
    expect(splitOuts({ publish: { model: 'm.bin' } })).toEqual({ publish: { model: 'm.bin' } });
    expect(splitOuts({})).toEqual({});
  });

  it('skips what the schema refuses (reported there), without failing', () => {
    expect(splitOuts({ outs: { a: 3, b: null, c: { path: 1, publish: 2 }, d: { publish: 'r/d' } }, publish: { x: 4, y: 'r/y' } })).toEqual({
      outs: {},
      publish: { d: 'r/d', y: 'r/y' },
    });
    expect(splitOuts({ outs: 'a.txt', publish: 'r' })).toEqual({});
    expect(splitOuts({ outs: null, publish: null })).toEqual({});
  });
});

describe('publish targets at load', () => {
  it('resolves each instance\'s targets from params and matrix values, normalised, and indexes them by path', async () => {
    const p = await ok(`
params: { d: res }
stages:
  s:
    matrix: { x: [1, 2] }
    run: [echo]
    outs: { a: { path: a.txt, publish: "\${params.d}/./a-\${matrix.x}.txt" }, b: b.txt }
  k:
    uses: test/model
    publish: { model: "runsx/../runs.d/m.bin" }
  plain:
    run: [echo]
    outs: { o: o.txt }
`);
    expect(p.byId.get('s@x=1')?.publish).toEqual({ a: 'res/a-1.txt' });
    expect(p.byId.get('s@x=2')?.publish).toEqual({ a: 'res/a-2.txt' });
    expect(p.byId.get('k')?.publish).toEqual({ model: 'runs.d/m.bin' });
    expect(p.byId.get('plain')?.publish).toBeUndefined();
    expect(p.byId.get('plain')).toBe(p.instances.find((i) => i.id === 'plain'));
    expect(p.byStage.get('s')?.map((i) => i.publish)).toEqual([{ a: 'res/a-1.txt' }, { a: 'res/a-2.txt' }]);
    expect([...p.publishes]).toEqual([
      ['res/a-1.txt', { id: 's@x=1', output: 'a' }],
      ['res/a-2.txt', { id: 's@x=2', output: 'a' }],
      ['runs.d/m.bin', { id: 'k', output: 'model' }],
    ]);
  });

  it('refuses an undeclared output, a reference to outputs, a path outside the workspace or in runs/, two outputs on one path', async () => {
    expect(
      await errors(`
params: { d: res }
stages:
  s:
    matrix: { x: [1, 2] }
    run: [echo]
    outs: { a: { path: a.txt, publish: "\${params.d}/a.txt" }, b: b.txt }
    publish: { nope: r/n.txt, b: "\${stages.t.outputs.o}" }
  t:
    run: [echo]
    outs: { o: { path: o.txt, publish: /etc/x }, p: { path: p.txt, publish: ../x }, q: { path: q.txt, publish: runs/q }, r: { path: r.txt, publish: . }, u: u.txt, v: v.txt }
    publish: { u: runs, v: res/a.txt }
  k:
    uses: test/model
    publish: { model: "x/../res/a.txt", nope: y }
  w:
    uses: test/model
    matrix: { x: [1, 2] }
    publish: { model: "m.txt" }
  e:
    run: [echo]
    publish: { x: y }
`),
    ).toEqual([
      '7:40: error: stages.s.outs.a.publish: s@x=2 and s@x=1 both publish to "res/a.txt"\n  hint: put the matrix values in the path, e.g. plots/${matrix.sample}.svg',
      '8:5: error: stages.s.publish.nope: stage "s" has no output "nope"\n  hint: outputs: a, b',
      '8:34: error: stages.s.publish.b: a publish path cannot reference stage outputs\n  hint: use ${params...} and ${matrix...} only',
      '11:40: error: stages.t.outs.o.publish: "/etc/x" is not a path inside the workspace\n  hint: write a relative path such as plots/quals.svg',
      '11:77: error: stages.t.outs.p.publish: "../x" is not a path inside the workspace\n  hint: write a relative path such as plots/quals.svg',
      '11:112: error: stages.t.outs.q.publish: "runs/q" is pipe\'s own directory or inside runs/\n  hint: publish to a path outside runs/, e.g. results/...',
      '11:149: error: stages.t.outs.r.publish: "." is pipe\'s own directory or inside runs/\n  hint: publish to a path outside runs/, e.g. results/...',
      '12:19: error: stages.t.publish.u: "runs" is pipe\'s own directory or inside runs/\n  hint: publish to a path outside runs/, e.g. results/...',
      '12:28: error: stages.t.publish.v: t and s@x=1 both publish to "res/a.txt"\n  hint: publish each output to its own path',
      '15:5: error: stages.k.publish.nope: stage "k" has no output "nope"\n  hint: outputs: model, metrics',
      '15:23: error: stages.k.publish.model: k and s@x=1 both publish to "res/a.txt"\n  hint: publish each output to its own path',
      '19:23: error: stages.w.publish.model: w@x=2 and w@x=1 both publish to "m.txt"\n  hint: put the matrix values in the path, e.g. plots/${matrix.sample}.svg',
      '22:5: error: stages.e.publish.x: stage "e" has no output "x"\n  hint: outputs: none',
    ]);
  });

  it('reports an unresolvable target (an unset variable) there, and resolves the ones after it', async () => {
    expect(
      await errors(`
stages:
  s:
    run: [echo]
    outs: { a: a.txt, b: b.txt }
    publish: { a: "\${env.NOPE_M15}/a", b: same, c: same }
`),
    ).toEqual([
      '6:5: error: stages.s.publish.c: stage "s" has no output "c"\n  hint: outputs: a, b',
      '6:19: error: stages.s.publish.a: environment variable NOPE_M15 is not set\n  hint: export NOPE_M15=..., or write ${env.NOPE_M15:-default}',
    ]);
  });
});
