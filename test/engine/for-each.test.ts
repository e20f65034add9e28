// `{ for_each: { AXIS: VALUES }, item: VALUE }` (src/pipeline/for-each.ts), in the test process: the shape
// check and its error, the points and their order, the references an item may make, and what a run:
// argument and a with: value resolve to. matrix-refs.test.ts shows the same through `pipe`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forEachAxesAt, forEachOf, forEachPoints } from '../../src/pipeline/for-each.js';
import { InterpolationError } from '../../src/pipeline/interpolate.js';
import type { Json } from '../../src/stage-api.js';
import { tempWorkspace, type TempWorkspace } from '../support/index.js';
import { loader, resolveFor } from '../support/load.js';

let ws: TempWorkspace;
beforeAll(() => {
  ws = tempWorkspace();
});
afterAll(() => ws.cleanup());
const { ok, errors } = loader(() => ws);

/** The error `fn` throws: its message and hint. */
function thrown(fn: () => unknown): { message: string; hint: string } {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof InterpolationError)) throw e;
    return { message: e.message, hint: e.hint ?? "" };
  }
  throw new Error('expected an InterpolationError');
}

describe('forEachOf', () => {
  it('is undefined for anything that is not a map with a for_each key', () => {
    for (const v of [undefined, null, 0, 3, '', 'for_each', true, [], [{ for_each: { a: [1] }, item: 1 }], {}, { item: 1 }, { each: {} }])
      expect(forEachOf(v as Json | undefined)).toBeUndefined();
  });

  it('returns a well-formed for_each as it is', () => {
    const v = { for_each: { a: [1, 2] }, item: '${matrix.a}' };
    expect(forEachOf(v)).toBe(v);
  });

  it('refuses every other shape, listing the keys found', () => {
    const HINT = 'write { for_each: { AXIS: [values] }, item: VALUE } (docs/pipeline-format.md, "Lists per matrix value")';
    const msg = (keys: string) =>
      `for_each needs exactly two keys, for_each (a map of axes, e.g. { dataset: [a, b] }) and item; found ${keys}`;
    const cases: [Json, string][] = [
      [{ for_each: { a: [1] } }, 'for_each'],
      [{ for_each: { a: [1] }, item: 1, extra: 2 }, 'for_each, item, extra'],
      [{ for_each: { a: [1] }, items: 1 }, 'for_each, items'],
      [{ for_each: null, item: 1 }, 'for_each, item'],
      [{ for_each: 'a', item: 1 }, 'for_each, item'],
      [{ for_each: [['a', [1]]], item: 1 }, 'for_each, item'],
      [{ for_each: {}, item: 1 }, 'for_each, item'],
    ];
    for (const [v, keys] of cases) expect(thrown(() => forEachOf(v))).toEqual({ message: msg(keys), hint: HINT });
  });
});

describe('forEachPoints', () => {
  it('is the cartesian product of the axes, the first axis outermost', () => {
    expect(forEachPoints({ a: [1, 2], b: ['x', 'y'] }, [])).toEqual([
      { a: 1, b: 'x' },
      { a: 1, b: 'y' },
      { a: 2, b: 'x' },
      { a: 2, b: 'y' },
    ]);
    expect(forEachPoints({ d: [{ name: 'fi', n: 8 }, ['sc', 'ic']] }, ['seed'])).toEqual([{ d: { name: 'fi', n: 8 } }, { d: ['sc', 'ic'] }]);
  });

  it("refuses an axis of the stage's own matrix", () => {
    expect(thrown(() => forEachPoints({ b: [1], seed: [1] }, ['seed', 'x']))).toEqual({
      message: 'for_each axis "seed" is already a matrix axis of the stage',
      hint: 'rename the for_each axis, or reference ${matrix.seed} directly',
    });
  });

  it('refuses an axis that is not a non-empty list', () => {
    const hint = 'list the values, or reference a param holding a list';
    expect(thrown(() => forEachPoints({ a: [] }, []))).toEqual({ message: 'for_each axis "a" must be a non-empty list of values, got []', hint });
    expect(thrown(() => forEachPoints({ a: [1], b: 'x' }, []))).toEqual({ message: 'for_each axis "b" must be a non-empty list of values, got "x"', hint });
    expect(thrown(() => forEachPoints({ a: { name: 'x' } }, []))).toEqual({ message: 'for_each axis "a" must be a non-empty list of values, got {"name":"x"}', hint });
  });

  it('refuses a value a matrix axis could not take, naming its index', () => {
    expect(thrown(() => forEachPoints({ a: [1, 2, { n: 3 }] }, []))).toEqual({
      message: 'for_each axis "a" value [2]: a map value needs a "name:" (a string or number): it names the value in instance ids',
      hint: 'values are scalars, lists of scalars, or maps with a name:',
    });
    expect(thrown(() => forEachPoints({ a: [null] }, [])).message).toBe('for_each axis "a" value [0]: null is not a matrix value');
  });
});

describe('forEachAxesAt', () => {
  const v: Json = {
    sets: { for_each: { d: [1], e: [2] }, item: { inner: { for_each: { f: [3] }, item: ['${matrix.f}'] }, x: 1 } },
    plain: { item: { y: 1 } },
    bad: { for_each: { d: [1] }, item: 1, extra: 1 },
  };

  it("gives the axes of every item a path lies in, outermost first, and none outside an item's value", () => {
    expect(forEachAxesAt(v, ['sets', 'item', 'inner', 'item', 0])).toEqual(['d', 'e', 'f']);
    expect(forEachAxesAt(v, ['sets', 'item', 'x'])).toEqual(['d', 'e']);
    expect(forEachAxesAt(v, ['sets', 'item', 'inner', 'for_each', 'f'])).toEqual(['d', 'e']);
    expect(forEachAxesAt(v, ['sets', 'for_each', 'd'])).toEqual([]);
    expect(forEachAxesAt(v, ['plain', 'item', 'y'])).toEqual([]);
    expect(forEachAxesAt([v], [0, 'sets', 'item'])).toEqual(['d', 'e']);
  });

  it('has none in a malformed for_each (reported where it is resolved) or past a scalar', () => {
    expect(forEachAxesAt(v, ['bad', 'item'])).toEqual([]);
    expect(forEachAxesAt({ a: 'x', b: null }, ['a', 'item', 'z'])).toEqual([]);
    expect(forEachAxesAt({ b: null }, ['b', 'item'])).toEqual([]);
    expect(forEachAxesAt(undefined, ['item'])).toEqual([]);
  });
});

describe('for_each in a pipeline', () => {
  const PIPE = `
params: { datasets: [{ name: fi, n: 8 }, { name: ab, n: 2 }], seeds: [0, 1] }
stages:
  ingest:
    matrix: { dataset: "\${params.datasets}" }
    run: [touch, "\${outs.m}"]
    outs: { m: m.txt }
  report:
    matrix: { seed: "\${params.seeds}" }
    run:
      - cat
      - for_each: { dataset: "\${params.datasets}" }
        item: "\${stages.ingest.outputs.m}"
      - for_each: { dataset: "\${params.datasets}", k: [a, b] }
        item: "--\${matrix.dataset.name}-\${matrix.k}=\${matrix.seed}"
`;

  it('resolves one item per point, each as an instance with the axes, and links every instance it reads', async () => {
    const p = await ok(PIPE);
    const report = p.byId.get('report@seed=1')!;
    expect(report.upstream).toEqual(['ingest@dataset=ab', 'ingest@dataset=fi']);
    expect(resolveFor(p, 'report@seed=1', report.stage.run as Json)).toEqual([
      'cat',
      ['ingest@dataset=fi:m', 'ingest@dataset=ab:m'],
      ['--fi-a=1', '--fi-b=1', '--ab-a=1', '--ab-b=1'],
    ]);
    // A map item (as in with: of a kind stage).
    const sets = { for_each: { dataset: '${params.datasets}' }, item: { name: '${matrix.dataset.name}', n: '${matrix.dataset.n}' } };
    expect(resolveFor(p, 'report@seed=0', { SETS: sets })).toEqual({
      SETS: [
        { name: 'fi', n: 8 },
        { name: 'ab', n: 2 },
      ],
    });
  });

  it('nests: an inner item sees the outer axes', async () => {
    const p = await ok(`
stages:
  s:
    run:
      - echo
      - for_each: { a: [1, 2] }
        item: { for_each: { b: [x, y] }, item: "\${matrix.a}\${matrix.b}" }
`);
    expect(resolveFor(p, 's', p.byId.get('s')!.stage.run as Json)).toEqual(['echo', [['1x', '1y'], ['2x', '2y']]]);
  });

  it("refuses a reference to a for_each axis outside its item, a for_each axis the stage's matrix has, an empty axis", async () => {
    expect(
      await errors(`
stages:
  s:
    run: [echo, { for_each: { a: [1] }, item: x }, "\${matrix.a}"]
`),
    ).toEqual([
      '4:52: error: stages.s.run[2]: unknown matrix axis "a"\n  hint: stage s has no matrix: add matrix: { a: [...] }',
    ]);
    // Found by resolving run: at load (validate used to pass it and every instance fail when it ran).
    expect(
      await errors(`
stages:
  s:
    matrix: { a: [1, 2] }
    run: [echo, { for_each: { a: [1] }, item: "\${matrix.a}" }, { for_each: { b: [] }, item: x }]
`),
    ).toEqual([
      '5:17: error: stages.s.run[1]: s@a=1: for_each axis "a" is already a matrix axis of the stage\n  hint: rename the for_each axis, or reference ${matrix.a} directly',
      '5:64: error: stages.s.run[2]: s@a=1: for_each axis "b" must be a non-empty list of values, got []\n  hint: list the values, or reference a param holding a list',
    ]);
  });
});
