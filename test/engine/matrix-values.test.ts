// Matrix values, their labels and instance ids (src/pipeline/matrix.ts), and how a JSON path in a
// pipeline file is located in its YAML source (src/pipeline/locate.ts), in the test process.
import { LineCounter, parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { Locator } from '../../src/pipeline/locate.js';
import { cartesian, instanceId, matrixLabel, matrixValueProblem } from '../../src/pipeline/matrix.js';
import type { Json } from '../../src/stage-api.js';

describe('matrix values', () => {
  it('scalars, non-empty lists of scalars and maps with a name are values; the rest say why not', () => {
    for (const v of ['a', '', 0, 1.5, true, false, ['a', 1, false], { name: 'x', k: [1, { a: 1 }] }, { name: 0 }, { name: false }])
      expect(matrixValueProblem(v as Json), JSON.stringify(v)).toBeUndefined();
    const LIST = 'a list value must be a non-empty list of strings, numbers or booleans';
    const MAP = 'a map value needs a "name:" (a string or number): it names the value in instance ids';
    expect([[], ['a', null], [['a']], ['a', { name: 'x' }]].map((v) => matrixValueProblem(v as Json))).toEqual([LIST, LIST, LIST, LIST]);
    expect([{}, { name: '' }, { name: null }, { name: ['a'] }, { name: { x: 1 } }, { k: 1 }].map((v) => matrixValueProblem(v as Json))).toEqual([MAP, MAP, MAP, MAP, MAP, MAP]);
    expect(matrixValueProblem(null)).toBe('null is not a matrix value');
  });

  it('labels: a scalar as text, a list joined with +, a map by its name; ids list the axes in order', () => {
    expect([matrixLabel('a'), matrixLabel(3), matrixLabel(false), matrixLabel(['sc', 1, true]), matrixLabel({ name: 'fi', n: 8 }), matrixLabel({ name: 2 })]).toEqual(['a', '3', 'false', 'sc+1+true', 'fi', '2']);
    expect(instanceId('train', { seed: 1, c: ['a', 'b'], d: { name: 'fi' } })).toBe('train@seed=1,c=a+b,d=fi');
    expect(instanceId('train', {})).toBe('train');
  });

  it('the cartesian product, the first axis outermost; no axes is one empty point', () => {
    expect(cartesian([])).toEqual([{}]);
    expect(cartesian([['a', [1, 2]], ['b', ['x']], ['c', [true, false]]])).toEqual([
      { a: 1, b: 'x', c: true },
      { a: 1, b: 'x', c: false },
      { a: 2, b: 'x', c: true },
      { a: 2, b: 'x', c: false },
    ]);
    expect(cartesian([['a', []]])).toEqual([]);
  });
});

describe('Locator', () => {
  const YAML = `stages:
  a:
    run: [echo, "x"]
    outs: { o: o.txt }
  "b": { run: x }
list:
  - one
  - { k: v }
`;
  const locator = (text: string) => {
    const lines = new LineCounter();
    return new Locator(parseDocument(text, { lineCounter: lines }), lines);
  };
  const at = locator(YAML);

  it('finds the value at a path, or its key', () => {
    expect(at.at(['stages', 'a', 'run', 1])).toEqual({ line: 3, col: 17 });
    expect(at.at(['stages', 'a', 'run'])).toEqual({ line: 3, col: 10 });
    expect(at.at(['stages', 'a', 'run'], true)).toEqual({ line: 3, col: 5 });
    expect(at.at(['stages', 'a', 'outs', 'o'], true)).toEqual({ line: 4, col: 13 });
    expect(at.at(['stages', 'b', 'run'])).toEqual({ line: 5, col: 15 });
    expect(at.at(['list', 1, 'k'])).toEqual({ line: 8, col: 10 });
    expect(at.at(['list', 0])).toEqual({ line: 7, col: 5 });
  });

  it('falls back to the deepest node that exists', () => {
    expect(at.at(['stages', 'a', 'nope', 'x'])).toEqual({ line: 3, col: 5 });
    expect(at.at(['stages', 'a', 'run', 7])).toEqual({ line: 3, col: 10 });
    expect(at.at(['stages', 'a', 'run', 'x'])).toEqual({ line: 3, col: 10 });
    expect(at.at(['list', 0, 'x'])).toEqual({ line: 7, col: 5 });
    expect(at.at(['list', '1'])).toEqual({ line: 7, col: 3 });
    expect(at.at([])).toEqual({ line: 1, col: 1 });
    expect(at.at(['stages', 'a', 'run', 1], true)).toEqual({ line: 3, col: 17 });
  });

  it('a document that is a scalar or empty is located at its start', () => {
    expect(locator('\n\n  just text\n').at(['stages'])).toEqual({ line: 3, col: 3 });
    expect(locator('').at(['x'])).toEqual({ line: 1, col: 1 });
    expect(locator('? [a]\n: 1\nb: 2\n').at(['a'])).toEqual({ line: 1, col: 1 });
  });
});
