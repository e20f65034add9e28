import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readJsonl, writeJsonl } from '../../src/io/jsonl.js';

const dir = mkdtempSync(join(tmpdir(), 'pipe-jsonl-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('jsonl', () => {
  it('writes rows in pieces across the 1 MB boundary, one line each, and reads them back', () => {
    const p = join(dir, 'big.jsonl');
    // ~1.7M characters of rows from a generator: written as it yields, in several pieces.
    function* rows(): Generator<{ id: string; n: number; text: string }> {
      for (let i = 0; i < 12000; i++) yield { id: `img-${i}`, n: i, text: 'ü'.repeat(i % 200) };
    }
    writeJsonl(p, rows());
    const back = readJsonl<{ id: string; n: number; text: string }>(p);
    expect(back).toEqual([...rows()]);
    expect(readFileSync(p, 'utf8').endsWith('}\n')).toBe(true);
    writeJsonl(join(dir, 'empty.jsonl'), []);
    expect(readFileSync(join(dir, 'empty.jsonl'), 'utf8')).toBe('');
  });
});
