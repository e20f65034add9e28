import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ManifestRow } from '../../src/formats.js';
import { DEFAULT_IC_TEMPLATE, icText, importCaptions } from '../../src/data/captions.js';
import { icPrompts, resolveTemplate, scPrompts, sscPrompts } from '../../src/data/prompts.js';
import { projectFile } from '../../src/data/project-files.js';
import { readSynonymFile } from '../../src/data/synonyms.js';
import { loadTaxonomy } from '../../src/data/taxonomy.js';
import { readJsonl } from '../../src/io/jsonl.js';
import buildPrompts from '../../stages/prompts/build.js';
import { runKind } from '../support/index.js';
import { tempDir } from './support.js';

const dir = tempDir('cap');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const row = (id: string): ManifestRow => ({ id, path: `/data/webemo/images/${id}.jpg`, hash: 'h', split: 'train', labels: { webemo25: 'zest' } });
const manifest = ['a1', 'a2', 'a3', 'sub/a4'].map(row);

describe('captions/import', () => {
  it('normalises captions into the IC prompt form', () => {
    expect(icText('  A kid sledding in   snow at the mountain. ', DEFAULT_IC_TEMPLATE)).toBe('a photo that contains a kid sledding in snow at the mountain');
    expect(icText('a photo that contains a dog', DEFAULT_IC_TEMPLATE)).toBe('a photo that contains a dog');
    expect(icText('', DEFAULT_IC_TEMPLATE)).toBe('');
  });

  it('matches keys by id, absolute path or relative path, and reports coverage', () => {
    const f = join(dir, 'caps.jsonl');
    writeFileSync(
      f,
      [
        { path: 'images/a1.jpg', caption: 'a dog.' },
        { path: '/data/webemo/images/a2.jpg', caption: 'a cat' },
        { path: 'a4', caption: 'a bird' },
        { path: 'images/a1.jpg', caption: 'again' },
        { path: 'zzz.jpg', caption: 'nobody' },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const { rows, coverage } = importCaptions(f, manifest, { template: DEFAULT_IC_TEMPLATE, missing: 'skip' });
    expect(rows).toEqual([
      { id: 'a1', caption: 'a dog.', text: 'a photo that contains a dog' },
      { id: 'a2', caption: 'a cat', text: 'a photo that contains a cat' },
      { id: 'sub/a4', caption: 'a bird', text: 'a photo that contains a bird' },
    ]);
    expect(coverage).toMatchObject({ images: 4, captioned: 3, missing: 1, missing_ids: ['a3'], extra: 1, extra_keys: ['zzz.jpg'], duplicate_ids: ['a1'], key_column: 'path' });
    // A bare file name shared by two folders matches neither.
    const twins = [row('x/a5'), row('y/a5')];
    writeFileSync(join(dir, 'twins.csv'), 'path,caption\na5.jpg,a fox\nwebemo/images/y/a5.jpg,a hen\n');
    const t = importCaptions(join(dir, 'twins.csv'), twins, { template: DEFAULT_IC_TEMPLATE, missing: 'skip' });
    expect(t.coverage.ambiguous_keys).toEqual(['a5.jpg']);
    expect(t.rows).toEqual([{ id: 'y/a5', caption: 'a hen', text: 'a photo that contains a hen' }]);
    const empty = importCaptions(f, manifest, { template: DEFAULT_IC_TEMPLATE, missing: 'empty' });
    expect(empty.rows.find((r) => r.id === 'a3')).toEqual({ id: 'a3', caption: '', text: '' });
  });

  it('missing captions fail by default with the count and examples', () => {
    const f = join(dir, 'caps.csv');
    writeFileSync(f, 'id,caption\na1,"a dog, sleeping"\n');
    expect(() => importCaptions(f, manifest, { template: DEFAULT_IC_TEMPLATE, missing: 'fail' })).toThrow(`${f}: 3 of 4 images have no caption (e.g. a2, a3, sub/a4)`);
    writeFileSync(join(dir, 'nokey.csv'), 'name,caption\na1,x\n');
    expect(() => importCaptions(join(dir, 'nokey.csv'), manifest, { template: DEFAULT_IC_TEMPLATE, missing: 'skip' })).toThrow(
      `${join(dir, 'nokey.csv')}: no key column: expected one of id, image_id, path, image, file, filename (columns: name, caption)`,
    );
  });
});

describe('prompts/build', () => {
  const w25 = loadTaxonomy('webemo25');
  it('SC prompts: display names, lower-case, paper template by default; notebook and binary forms', () => {
    const sc = scPrompts(w25, { template: resolveTemplate('paper') });
    expect(sc).toHaveLength(25);
    expect(sc[1]).toEqual({ id: 'sc/webemo25/cheerfullness', kind: 'sc', text: 'a photo that seems to express cheerfulness', taxonomy: 'webemo25', class: 'cheerfullness' });
    const t = { template: resolveTemplate('notebook'), binary: resolveTemplate('binary') };
    expect(scPrompts(loadTaxonomy('webemo6'), t).map((p) => p.text)[2]).toBe('a photo that evokes joy');
    expect(scPrompts(loadTaxonomy('webemo2'), t).map((p) => p.text)).toEqual(['a photo that evokes a negative feeling', 'a photo that evokes a positive feeling']);
    expect(() => resolveTemplate('a photo of joy')).toThrow('prompt template "a photo of joy": is neither a template name nor a text with a {class} placeholder');
  });

  it('SSC prompts: class x synonym; IC prompts: one per captioned image', () => {
    const table = readSynonymFile(projectFile('data', 'synonyms', 'webemo.yaml'), w25, 5);
    const ssc = sscPrompts(w25, table, { template: resolveTemplate('paper') });
    expect(ssc).toHaveLength(125);
    expect(ssc.filter((p) => p.class === 'optimism').map((p) => p.text)).toContain('a photo that seems to express positivity');
    expect(icPrompts([{ id: 'a1', caption: 'a dog', text: 'a photo that contains a dog' }])).toEqual([{ id: 'ic/a1', kind: 'ic', text: 'a photo that contains a dog', image: 'a1' }]);
  });

  it('prompts/build takes the paper\'s 267k image captions (more than one call may take as arguments)', async () => {
    const f = join(dir, 'many-captions.jsonl');
    const n = 267_441;
    const lines: string[] = [];
    for (let i = 0; i < n; i++) lines.push(JSON.stringify({ id: `img${i}`, caption: 'a dog', text: 'a photo that contains a dog' }));
    writeFileSync(f, `${lines.join('\n')}\n`);
    const run = await runKind(buildPrompts, { taxonomies: ['webemo2'], captions: f });
    const rows = readJsonl<{ kind: string }>(run.outputs.prompts);
    expect(rows.filter((r) => r.kind === 'ic')).toHaveLength(n);
    expect(rows.filter((r) => r.kind === 'sc')).toHaveLength(2);
  });
});
