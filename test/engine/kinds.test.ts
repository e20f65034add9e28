// Built-in kinds as the loader sees them (src/pipeline/kinds.ts), in the test process: the registry's
// names, lazy loading once per name, one compiled params validator per kind, a stage's output names, and
// the `format: "path"` strings of a kind's params found at any depth.
import { describe, expect, it } from 'vitest';
import { knownKinds, loadKind, mapPathParams, outputNames, paramsValidator } from '../../src/pipeline/kinds.js';
import { STAGE_KINDS } from '../../src/stage-registry.js';
import { defineStage, type Json, type JsonSchema, type StageKind } from '../../src/stage-api.js';

const KIND = defineStage<unknown>({
  kind: 'test/two',
  version: '1',
  description: 'test',
  params: { type: 'object', required: ['n'], properties: { n: { type: 'integer', minimum: 1, default: 2 }, k: { type: 'integer', default: 7 } } },
  outputs: { model: { path: 'model.bin', description: 'a model' }, table: { path: 't.csv', description: 'a table' } },
  async run() {},
}) as unknown as StageKind<unknown>;

describe('the registry', () => {
  it('lists every built-in kind, sorted', () => {
    const names = knownKinds();
    expect(names).toEqual(Object.keys(STAGE_KINDS).sort());
    expect(names).not.toEqual(Object.keys(STAGE_KINDS));
  });

  it('loads a kind once, by name; an unknown name is undefined', async () => {
    const first = loadKind('synonyms/table');
    expect(loadKind('synonyms/table')).toBe(first);
    const kind = await first;
    expect(kind?.kind).toBe('synonyms/table');
    expect(await loadKind('no/such-kind')).toBeUndefined();
    expect(loadKind('no/such-kind')).toBe(loadKind('no/such-kind'));
  });
});

describe('paramsValidator', () => {
  it("validates a kind's with: against its schema, filling defaults, compiled once per kind", () => {
    const v = paramsValidator(KIND);
    expect(paramsValidator(KIND)).toBe(v);
    const value: { [k: string]: Json } = { n: 3 };
    expect(v(value)).toBe(true);
    expect(value).toEqual({ n: 3, k: 7 });
    expect(v({ n: 0 })).toBe(false);
    expect(v.errors?.map((e) => `${e.instancePath} ${e.message}`)).toEqual(['/n must be >= 1']);
  });
});

describe('outputNames', () => {
  it("is a kind's outputs and metrics, a command's outs:, or none", () => {
    expect(outputNames({ uses: 'test/two' }, KIND)).toEqual(['model', 'table', 'metrics']);
    expect(outputNames({ uses: 'no/such' })).toEqual([]);
    expect(outputNames({ outs: { a: 'a.txt', b: 'b.txt' } })).toEqual(['a', 'b']);
    expect(outputNames({}, KIND)).toEqual([]);
    expect(outputNames({ uses: '', outs: { a: 'a' } })).toEqual(['a']);
  });
});

describe('mapPathParams', () => {
  const mark = (p: string): Json => `<${p}>`;
  const path: JsonSchema = { type: 'string', format: 'path' };

  it('maps a path string; leaves other strings, non-strings and schema-less values as they are', () => {
    expect(mapPathParams(path, 'a/b', mark)).toBe('<a/b>');
    expect(mapPathParams({ type: 'string' }, 'a/b', mark)).toBe('a/b');
    expect(mapPathParams({ format: 'date' }, 'a/b', mark)).toBe('a/b');
    expect(mapPathParams(path, 3, mark)).toBe(3);
    expect(mapPathParams(undefined, 'a', mark)).toBe('a');
    expect(mapPathParams(true as unknown as JsonSchema, 'a', mark)).toBe('a');
    const obj = { a: 'x' };
    expect(mapPathParams(undefined, obj, mark)).toBe(obj);
    expect(mapPathParams(true as unknown as JsonSchema, obj, mark)).toBe(obj);
  });

  it('descends into properties, additionalProperties and items, returning new values', () => {
    const schema: JsonSchema = {
      type: 'object',
      properties: { root: path, name: { type: 'string' }, list: { type: 'array', items: path }, tuple: { type: 'array', items: [path] as unknown as JsonSchema } },
      additionalProperties: { type: 'object', properties: { file: path } },
    };
    const value = { root: 'r', name: 'n', list: ['a', 'b'], tuple: ['t'], extra: { file: 'f', other: 'o' }, more: { file: 'g' } };
    const out = mapPathParams(schema, value, mark);
    expect(out).toEqual({ root: '<r>', name: 'n', list: ['<a>', '<b>'], tuple: ['t'], extra: { file: '<f>', other: 'o' }, more: { file: '<g>' } });
    expect(value.root).toBe('r');
    expect(mapPathParams({ type: 'object', additionalProperties: true as unknown as JsonSchema }, { a: 'x' }, mark)).toEqual({ a: 'x' });
    expect(mapPathParams({ type: 'object', additionalProperties: [path] as unknown as JsonSchema }, { a: 'x' }, mark)).toEqual({ a: 'x' });
    expect(mapPathParams({ type: 'object', additionalProperties: path }, { a: 'x', b: 1 }, mark)).toEqual({ a: '<x>', b: 1 });
    // What no schema describes is left as it is (the same value, not a copy).
    const list = ['x'];
    expect(mapPathParams({ type: 'array' }, list, mark)).toBe(list);
    expect(mapPathParams({ type: 'array', items: true as unknown as JsonSchema }, list, mark)).toBe(list);
    expect(mapPathParams({ type: 'array', items: [path] as unknown as JsonSchema }, list, mark)).toBe(list);
    const inner = { file: 'f' };
    expect((mapPathParams({ type: 'object', additionalProperties: true as unknown as JsonSchema }, { a: inner }, mark) as { a: object }).a).toBe(inner);
    expect((mapPathParams({ type: 'object' }, { a: inner }, mark) as { a: object }).a).toBe(inner);
    expect(mapPathParams({ type: 'array', items: path }, 'x', mark)).toBe('x');
    expect(mapPathParams({ type: 'object', properties: { a: path } }, null, mark)).toBeNull();
  });

  it('applies every anyOf, oneOf and allOf branch in turn', () => {
    const schema: JsonSchema = {
      anyOf: [{ type: 'object', properties: { a: path } }],
      oneOf: [{ type: 'object', properties: { b: path } }],
      allOf: [{ type: 'object', properties: { c: path } }, { type: 'object', properties: { a: path } }],
    };
    expect(mapPathParams(schema, { a: 'a', b: 'b', c: 'c', d: 'd' }, mark)).toEqual({ a: '<<a>>', b: '<b>', c: '<c>', d: 'd' });
    expect(mapPathParams({ anyOf: [path, { type: 'integer' }] }, 'x', mark)).toBe('<x>');
    expect(mapPathParams({ oneOf: path as unknown as JsonSchema[] }, 'x', mark)).toBe('x');
  });
});
