// Compiled schema validators cached as ajv standalone code (src/pipeline/validators.ts): a validator read
// back from the cache validates, fills defaults and reports errors exactly as one compiled in the process.
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import schema from '../../src/pipeline/schema.json' with { type: 'json' };
import { compiledValidator, newAjv } from '../../src/pipeline/validators.js';
import { REPO_ROOT, tempWorkspace, type TempWorkspace } from '../support/index.js';

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

const PARAMS = {
  type: 'object',
  additionalProperties: false,
  required: ['root'],
  properties: { root: { type: 'string', format: 'path' }, epochs: { type: 'integer', minimum: 1, default: 5 }, mode: { enum: ['a', 'b'] } },
};

const DOCS: unknown[] = [
  { stages: { a: { run: ['echo'] } } },
  { stages: { a: { run: 3, bogus: true } }, executor: 'cloud' },
  { stages: { 'bad name!': { uses: 'x/y', matrix: { i: [] } } } },
  { root: '/data' },
  { epochs: 0, mode: 'c', extra: 1 },
];

/** What a validator makes of each document: valid or not, the errors (with their schemas), and the document after defaults. */
function outcomes(validate: ReturnType<typeof compiledValidator>): unknown[] {
  return DOCS.map((d) => {
    const doc = structuredClone(d);
    const ok = validate(doc);
    return { ok, errors: validate.errors ?? null, doc };
  });
}

describe('cached schema validators', () => {
  it('a validator written to the cache and read back behaves as one compiled in the process', () => {
    // Inside node_modules, as the real cache is: the cached code requires ajv's runtime helpers by package
    // name (from a folder outside it the pipeline schema's code cannot load, and is compiled every time).
    ws = tempWorkspace('pipe-validators-test-', join(REPO_ROOT, 'node_modules', '.cache'));
    for (const s of [schema, PARAMS]) {
      const fresh = newAjv().compile(s);
      const first = compiledValidator(s, ws.dir);
      const cachedFiles = readdirSync(ws.dir);
      const again = compiledValidator(s, ws.dir);
      expect(readdirSync(ws.dir)).toEqual(cachedFiles);
      expect(again).not.toBe(first);
      // Read from the cache, not written again (a rewrite is a new file renamed over it).
      const inodes = () => readdirSync(ws.dir).map((f) => statSync(join(ws.dir, f)).ino);
      const was = inodes();
      compiledValidator(s, ws.dir);
      expect(inodes()).toEqual(was);
      expect(outcomes(again)).toEqual(outcomes(fresh));
      expect(outcomes(first)).toEqual(outcomes(fresh));
    }
    // One file per schema, named by its content: both schemas are cached.
    expect(readdirSync(ws.dir).filter((f) => f.endsWith('.cjs'))).toHaveLength(2);
  });

  it('caches in node_modules/.cache/pipe-validators of the ajv installation by default, one file named by a hash', () => {
    const dir = join(REPO_ROOT, 'node_modules', '.cache', 'pipe-validators');
    // A schema no earlier run has cached, and its file removed after.
    const own = { ...PARAMS, title: `validators.test.ts ${process.pid} ${Date.now()}` };
    const before = new Set(existsSync(dir) ? readdirSync(dir) : []);
    const v = compiledValidator(own);
    const added = readdirSync(dir).filter((f) => !before.has(f));
    try {
      expect(added).toEqual([expect.stringMatching(/^[0-9a-f]{32}\.cjs$/)]);
      expect(outcomes(compiledValidator(own, dir))).toEqual(outcomes(v));
    } finally {
      for (const f of added) rmSync(join(dir, f));
    }
  });

  it('accepts any string as format "path" (it marks file inputs, it does not constrain them)', () => {
    const v = newAjv().compile({ type: 'string', format: 'path' });
    expect(['x', '/a/b', '', 'a b\n'].map((p) => v(p))).toEqual([true, true, true, true]);
    expect(v(3)).toBe(false);
  });

  it('where the cache cannot be written, the validator is compiled in the process', () => {
    ws = tempWorkspace();
    const blocked = join(ws.dir, 'not-a-dir');
    writeFileSync(blocked, '');
    const v = compiledValidator(PARAMS, join(blocked, 'cache'));
    expect(outcomes(v)).toEqual(outcomes(newAjv().compile(PARAMS)));
  });
});
