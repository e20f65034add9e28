import { copyFileSync, cpSync, symlinkSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync, appendFileSync, mkdirSync, renameSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFolderDataset, LAYOUT_ALIASES, type FolderLayout } from '../../src/data/layouts/folders.js';
import { readTableDataset } from '../../src/data/layouts/table.js';
import { readWebemo, WEBEMO_LAYOUTS } from '../../src/data/layouts/webemo.js';
import { buildManifest, type Manifest } from '../../src/data/manifest.js';
import { loadTaxonomy, type Taxonomy } from '../../src/data/taxonomy.js';
import { syntheticTree, tempDir, testIO, type TestIO } from './support.js';

let dir: string;
let data: string;
let cleanup: () => void;
beforeAll(async () => {
  ({ dir, cleanup } = await syntheticTree('ingest'));
  data = join(dir, 'data');
});
afterAll(() => cleanup());

function webemo(root: string, confusion: 'sadness' | 'own' = 'sadness', layout: 'auto' | 'official' | 'folders' = 'auto') {
  return readWebemo({ root, layout, valFraction: 0.2, seed: 3, taxonomy: loadTaxonomy('webemo25', { confusion }) });
}

function folders(root: string, layout: FolderLayout, extra: Partial<Parameters<typeof readFolderDataset>[0]> = {}) {
  const taxonomy = extra.taxonomy ?? loadTaxonomy({ fi: 'fi8', emotion6: 'emotion6_6', emotionroi: 'emotionroi6', iaps: 'iaps2', plain: 'fi8' }[layout]);
  return readFolderDataset({ root, layout, taxonomy, aliases: LAYOUT_ALIASES[layout], unknownClass: 'fail', valenceThreshold: 5, ...extra });
}

async function manifest(layout: ReturnType<typeof webemo>, tax: Taxonomy, io: TestIO, root = data): Promise<Manifest> {
  return buildManifest(layout, { dataset: tax.dataset, root, taxonomy: tax, check: 'header', unreadable: 'skip' }, io);
}

describe('ingest: WEBEmo', () => {
  it('official layout: labels at every level, seeded stratified val split, missing URLs reported', async () => {
    const io = testIO(tempDir('io'));
    const root = join(data, 'webemo');
    const layout = webemo(root);
    const tax = loadTaxonomy('webemo25');
    const m = await manifest(layout, tax, io, root);
    const train25 = readFileSync(join(root, 'train25.txt'), 'utf8').trim().split('\n');
    const test25 = readFileSync(join(root, 'test25.txt'), 'utf8').trim().split('\n');
    const onDisk = readdirSync(join(root, 'images')).length;
    expect(m.rows.length).toBe(onDisk);
    expect(m.summary.missing.length).toBe(train25.length + test25.length - onDisk);
    expect(m.summary.missing.length).toBeGreaterThan(0);
    expect(m.summary.missing[0]).toMatchObject({ where: expect.stringMatching(/^(train|test)25\.txt:\d+$/), reason: expect.stringMatching(/^no file syn-\d+\.jpg in /) });
    const row = m.rows[0];
    expect(row.path).toBe(join(root, 'images', `${row.id}.jpg`));
    expect(row.hash).toBe(createHash('sha256').update(readFileSync(row.path)).digest('hex'));
    expect(Object.keys(row.labels)).toEqual(['webemo25', 'webemo6', 'webemo2']);
    expect(m.summary.settings).toEqual({ confusion: 'sadness' });
    expect(m.summary.val).toMatchObject({ from: 'train', fraction: 0.2, seed: 3 });
    expect(m.summary.splits.val).toBe(m.summary.val!.count);
    // Stratified: every class's val count is round(0.2 x its train+val count).
    for (const c of tax.classes) {
      const n = m.rows.filter((r) => r.labels.webemo25 === c.id && r.split !== 'test');
      expect(n.filter((r) => r.split === 'val').length).toBe(Math.round(0.2 * n.length));
    }
    // Deterministic from the seed; another seed picks other images.
    expect(webemo(root).items.map((i) => i.split)).toEqual(layout.items.map((i) => i.split));
    const other = readWebemo({ root, layout: 'auto', valFraction: 0.2, seed: 4, taxonomy: tax });
    expect(other.items.map((i) => i.split)).not.toEqual(layout.items.map((i) => i.split));
    expect(m.summary.counts.webemo6.train.confusion).toBeUndefined();
    // An image nobody lists is reported, not ingested.
    copyFileSync(row.path, join(root, 'images', 'stray.jpg'));
    try {
      expect(webemo(root).excluded).toEqual([{ ref: join(root, 'images', 'stray.jpg'), reason: 'not listed in train25.txt or test25.txt' }]);
    } finally {
      rmSync(join(root, 'images', 'stray.jpg'));
    }
  });

  it('confusion: own keeps a 7th webemo6 class and says so in the summary', async () => {
    const root = join(data, 'webemo');
    const tax = loadTaxonomy('webemo25', { confusion: 'own' });
    const m = await manifest(webemo(root, 'own'), tax, testIO(tempDir('io')), root);
    expect(m.summary.settings).toEqual({ confusion: 'own' });
    expect(m.rows.filter((r) => r.labels.webemo25 === 'confusion').every((r) => r.labels.webemo6 === 'confusion')).toBe(true);
    expect(Object.keys(m.summary.counts.webemo6.test)).toHaveLength(7);
  });

  it('folders layout: {train,test}/<class>/, val carved from train', async () => {
    const root = join(data, 'webemo-folders');
    const layout = webemo(root);
    expect(layout.layout).toBe('folders');
    expect(layout.items).toHaveLength(100);
    expect(layout.items[0].id).toMatch(/^(train|test)\/[a-z]+\/syn-\d+$/);
    expect(new Set(layout.items.map((i) => i.split))).toEqual(new Set(['train', 'val', 'test']));
  });

  it('folders layout with a validation/ folder keeps it as val and carves nothing', () => {
    const root = tempDir('wval');
    cpSync(join(data, 'webemo-folders'), root, { recursive: true });
    const cls = readdirSync(join(root, 'train'))[0];
    const file = readdirSync(join(root, 'train', cls))[0];
    mkdirSync(join(root, 'validation', cls), { recursive: true });
    renameSync(join(root, 'train', cls, file), join(root, 'validation', cls, file));
    const r = webemo(root);
    expect(r.val).toBeUndefined();
    expect(r.items.filter((i) => i.split === 'val').map((i) => i.id)).toEqual([`validation/${cls}/${file.replace('.jpg', '')}`]);
  });

  it('bad layouts fail with the expected layout', () => {
    const empty = tempDir('empty');
    expect(() => webemo(empty)).toThrow(`${empty}: neither train25.txt nor a train/ folder found`);
    try {
      webemo(empty);
    } catch (e) {
      expect((e as { hint?: string }).hint).toBe(WEBEMO_LAYOUTS);
    }
    const bad = tempDir('badclass');
    mkdirSync(join(bad, 'train', 'happiness'), { recursive: true });
    mkdirSync(join(bad, 'test'));
    expect(() => webemo(bad)).toThrow(`${join(bad, 'train', 'happiness')}: "happiness" is not a class of webemo25 (affection, cheerfullness,`);
    const noImages = tempDir('noimages');
    writeFileSync(join(noImages, 'train25.txt'), 'https://x.invalid/a.jpg 3\n');
    expect(() => webemo(noImages)).toThrow(`${join(noImages, 'images')}: image folder not found`);
    mkdirSync(join(noImages, 'images'));
    writeFileSync(join(noImages, 'test25.txt'), 'https://x.invalid/b.jpg 31\n');
    expect(() => webemo(noImages)).toThrow(`${join(noImages, 'test25.txt')}:1: label 31 is out of range 0-24 (webemo25)`);
  });
});

describe('ingest: folder-per-class datasets', () => {
  it('FI: emotion_dataset/<class>/, all test, fi8 + fi2 labels, PNG and JPEG', async () => {
    const root = join(data, 'fi');
    const tax = loadTaxonomy('fi8');
    const m = await manifest(folders(root, 'fi'), tax, testIO(tempDir('io')), root);
    expect(m.rows).toHaveLength(24);
    expect(m.summary.splits).toEqual({ train: 0, val: 0, test: 24 });
    expect(m.rows.some((r) => r.path.endsWith('.png'))).toBe(true);
    expect(m.rows[0].id).toMatch(/^emotion_dataset\/amusement\/amusement_\d+$/);
    expect(m.rows[0].labels).toEqual({ fi8: 'amusement', fi2: 'positive' });
    expect(m.summary.counts.fi2.test).toEqual({ negative: 12, positive: 12 });
  });

  it("Emotion-6: images/<primary>/<secondary>/ with the `digust` typo mapped", async () => {
    const root = join(data, 'emotion6');
    const layout = folders(root, 'emotion6');
    expect(layout.items).toHaveLength(18);
    expect(layout.extra).toEqual({ secondary_folders: expect.objectContaining({ 'anger/disgust': expect.any(Number) }) });
    expect(Object.keys(layout.extra!.secondary_folders as object)).not.toContain('anger/digust');
    // The typo also maps where an archive has it at the class level.
    const flat = tempDir('e6');
    cpSync(join(root, 'images', 'anger'), join(flat, 'images', 'digust'), { recursive: true });
    cpSync(join(root, 'images', 'joy'), join(flat, 'images', 'joy'), { recursive: true });
    const t = loadTaxonomy('emotionroi6');
    expect(new Set(folders(flat, 'emotion6', { taxonomy: t }).items.map((i) => i.classId))).toEqual(new Set(['disgust', 'joy']));
  });

  it('EmotionROI: training_testing_split lists give train/test; without them everything is test', async () => {
    const root = join(data, 'emotionroi');
    const layout = folders(root, 'emotionroi');
    expect(layout.layout).toBe('emotionroi+split-lists');
    const training = readFileSync(join(root, 'training_testing_split', 'training.txt'), 'utf8').trim().split('\n');
    expect(layout.items.filter((i) => i.split === 'train').map((i) => i.id.replace(/^images\//, '') + '.jpg').sort()).toEqual(training.sort());
    const copy = tempDir('roi');
    cpSync(join(root, 'images'), join(copy, 'images'), { recursive: true });
    expect(folders(copy, 'emotionroi').items.every((i) => i.split === 'test')).toBe(true);
    // A listed file that is not on disk is reported; an unlisted one is left out and reported.
    cpSync(join(root, 'training_testing_split'), join(copy, 'training_testing_split'), { recursive: true });
    appendFileSync(join(copy, 'training_testing_split', 'testing.txt'), 'joy/9999.jpg\n');
    const gone = training[0];
    writeFileSync(join(copy, 'training_testing_split', 'training.txt'), training.slice(1).join('\n') + '\n');
    const r = folders(copy, 'emotionroi');
    expect(r.missing).toEqual([{ ref: 'joy/9999.jpg', where: 'training_testing_split/testing.txt:' + (readFileSync(join(copy, 'training_testing_split', 'testing.txt'), 'utf8').trim().split('\n').length), reason: 'listed but not on disk (or not in a class folder)' }]);
    expect(r.excluded).toEqual([{ ref: join(copy, 'images', gone), reason: 'not in any split list' }]);
  });

  it('FI with split lists ("<relative path> <label>" lines, as WSCNet ships them)', () => {
    const root = join(data, 'fi');
    const all = folders(root, 'fi').items.map((i) => i.path.slice(join(root, 'emotion_dataset').length + 1));
    const lists = tempDir('fisplit');
    writeFileSync(join(lists, 'train.txt'), all.slice(0, 12).map((p) => `${p} 3`).join('\n') + '\n');
    writeFileSync(join(lists, 'val.txt'), all.slice(12, 16).map((p) => `${p} 3`).join('\n') + '\n');
    writeFileSync(join(lists, 'test.txt'), all.slice(16, 23).join('\n') + '\n');
    const r = folders(root, 'fi', { splitFiles: { train: join(lists, 'train.txt'), val: join(lists, 'val.txt'), test: join(lists, 'test.txt') } });
    expect(r.layout).toBe('fi+split-lists');
    expect(r.items.map((i) => i.split).filter((s) => s === 'train').length).toBe(12);
    expect(r.items.filter((i) => i.split === 'val')).toHaveLength(4);
    expect(r.items.filter((i) => i.split === 'test')).toHaveLength(7);
    expect(r.excluded).toEqual([{ ref: join(root, 'emotion_dataset', all[23]), reason: 'not in any split list' }]);
  });

  it('IAPS: folder per label, or a ratings file with a valence threshold', async () => {
    const root = join(data, 'iaps');
    const byFolder = folders(root, 'iaps');
    expect(byFolder.items).toHaveLength(12);
    const byRatings = folders(root, 'iaps', { ratings: join(root, 'ratings.txt') });
    expect(byRatings.layout).toBe('iaps-ratings');
    const label = (items: typeof byFolder.items) => Object.fromEntries(items.map((i) => [i.path, i.classId]));
    expect(label(byRatings.items)).toEqual(label(byFolder.items));
    expect(byRatings.items.some((i) => /\d+\.\d$/.test(i.id))).toBe(true); // ids like 2352.2 keep their dot
    // A threshold of 7 moves pictures with valence in (5, 7) to negative.
    const strict = folders(root, 'iaps', { ratings: join(root, 'ratings.txt'), valenceThreshold: 7 });
    expect(strict.items.filter((i) => i.classId === 'positive').length).toBeLessThan(6);
    const noCol = tempDir('iaps');
    writeFileSync(join(noCol, 'r.csv'), 'IAPS,arousal\n1000,3\n');
    expect(() => folders(root, 'iaps', { ratings: join(noCol, 'r.csv') })).toThrow(
      `${join(noCol, 'r.csv')}: no ratings_valence column: expected one of valmn, valence, valence_mean, ValMn (columns: IAPS, arousal)`,
    );
  });

  it('a missing folder and an unknown class fail with the expected layout', () => {
    const missing = join(data, 'nope');
    expect(() => folders(missing, 'fi')).toThrow(`${missing}: dataset folder not found`);
    const broken = tempDir('fi');
    cpSync(join(data, 'fi'), broken, { recursive: true });
    renameSync(join(broken, 'emotion_dataset', 'awe'), join(broken, 'emotion_dataset', 'wonder'));
    let err: { message: string; hint?: string } | undefined;
    try {
      folders(broken, 'fi');
    } catch (e) {
      err = e as { message: string; hint?: string };
    }
    expect(err?.message).toBe(`${join(broken, 'emotion_dataset', 'wonder')}: "wonder" is not a class of fi8 (amusement, anger, awe, contentment, disgust, excitement, fear, sadness)`);
    expect(err?.hint).toBe(
      'Rename the folder, map it with aliases: { wonder: <class> }, or set unknown_class: skip.\n' +
        'Expected the FI layout:\n  <root>/emotion_dataset/<class>/*.jpg   (or <root>/<class>/*.jpg)\n  <class> one of amusement, anger, awe, contentment, disgust, excitement, fear, sadness',
    );
    expect(folders(broken, 'fi', { aliases: { wonder: 'awe' } }).items).toHaveLength(24);
    // Symlinked class folders are followed.
    const linked = tempDir('link');
    mkdirSync(join(linked, 'emotion_dataset'));
    symlinkSync(join(data, 'fi', 'emotion_dataset', 'fear'), join(linked, 'emotion_dataset', 'fear'));
    expect(folders(linked, 'fi').items.map((i) => i.classId)).toEqual(['fear', 'fear', 'fear']);
    const skipped = folders(broken, 'fi', { unknownClass: 'skip' });
    expect(skipped.items).toHaveLength(24 - 3);
    expect(skipped.excluded[0].reason).toBe('folder "wonder" is not a class of fi8');
    const noClasses = tempDir('none');
    mkdirSync(join(noClasses, 'emotion_dataset', 'misc'), { recursive: true });
    expect(() => folders(noClasses, 'fi')).toThrow(`${join(noClasses, 'emotion_dataset')}: no class folders found (found misc)`);
  });
});

describe('ingest: summary problems', () => {
  it('reports unreadable images and duplicates across splits (a leak)', async () => {
    const root = tempDir('leak');
    cpSync(join(data, 'webemo-folders'), root, { recursive: true });
    const cls = readdirSync(join(root, 'train'))[0];
    const victim = readdirSync(join(root, 'train', cls))[0];
    copyFileSync(join(root, 'train', cls, victim), join(root, 'test', cls, 'copy-of-train.jpg'));
    writeFileSync(join(root, 'test', cls, 'broken.jpg'), 'this is not a JPEG');
    const tax = loadTaxonomy('webemo25');
    const io = testIO(tempDir('io'));
    const m = await manifest(webemo(root), tax, io, root);
    expect(m.summary.duplicates_across_splits).toHaveLength(1);
    expect(m.summary.duplicates_across_splits[0].items.map((i) => i.id).sort()).toEqual([`test/${cls}/copy-of-train`, `train/${cls}/${victim.replace('.jpg', '')}`]);
    expect(m.summary.unreadable).toHaveLength(1);
    expect(m.summary.unreadable[0].ref).toBe(join(root, 'test', cls, 'broken.jpg'));
    expect(m.summary.unreadable[0].reason).toMatch(/unsupported image format/);
    expect(m.rows.some((r) => r.id.endsWith('broken'))).toBe(false);
    expect(io.lines).toContain('warning: 1 image(s) appear in more than one split (see duplicates_across_splits in summary.json)');
    await expect(buildManifest(webemo(root), { dataset: 'webemo', root, taxonomy: tax, check: 'header', unreadable: 'fail' }, io)).rejects.toThrow(
      `${root}: 1 unreadable image(s):\n  ${join(root, 'test', cls, 'broken.jpg')}: `,
    );
  });

  it('generic CSV manifest: labels by id or display name, bad label with its line', () => {
    const d = tempDir('table');
    cpSync(join(data, 'fi', 'emotion_dataset', 'awe'), join(d, 'imgs'), { recursive: true });
    const files = readdirSync(join(d, 'imgs'));
    writeFileSync(join(d, 'list.csv'), `path,label,split\nimgs/${files[0]},Awe,train\nimgs/${files[1]},awe,\nimgs/gone.jpg,fear,test\n`);
    const tax = loadTaxonomy('fi8');
    const r = readTableDataset({ file: join(d, 'list.csv'), taxonomy: tax, defaultSplit: 'test', aliases: {} });
    expect(r.items.map((i) => [i.id, i.split, i.classId])).toEqual([
      [`imgs/${files[0].replace(/\.\w+$/, '')}`, 'train', 'awe'],
      [`imgs/${files[1].replace(/\.\w+$/, '')}`, 'test', 'awe'],
    ]);
    expect(r.missing).toEqual([{ ref: 'imgs/gone.jpg', where: 'list.csv:4', reason: 'file not found' }]);
    writeFileSync(join(d, 'bad.jsonl'), `{"path":"imgs/${files[0]}","label":"awe"}\n{"path":"imgs/${files[1]}","label":"wonder"}\n`);
    expect(() => readTableDataset({ file: join(d, 'bad.jsonl'), taxonomy: tax, defaultSplit: 'test', aliases: {} })).toThrow(
      `${join(d, 'bad.jsonl')}:2: label "wonder" is not a class of fi8 (amusement, anger, awe, contentment, disgust, excitement, fear, sadness)`,
    );
  });
});

describe('ingest: hash cache', () => {
  it('re-ingest after adding one file re-reads exactly that file', async () => {
    const root = tempDir('rehash');
    cpSync(join(data, 'fi'), root, { recursive: true });
    const ioDir = tempDir('io');
    const all = () => readdirSync(join(root, 'emotion_dataset'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
    // Pin mtimes to a whole second so they can be restored exactly after editing content in place.
    const pin = (p: string) => utimesSync(p, 1_700_000_000, 1_700_000_000);
    all().forEach(pin);
    const tax = loadTaxonomy('fi8');
    const first = await manifest(folders(root, 'fi'), tax, testIO(ioDir), root);
    const rowsBefore = testIO(ioDir).store.hashRows('file').length;

    // Change every existing file's bytes but not its (inode, size, mtime): a re-read would see new hashes.
    for (const p of all()) {
      const b = readFileSync(p);
      b[b.length - 3] ^= 0xff;
      writeFileSync(p, b);
      pin(p);
    }
    const added = join(root, 'emotion_dataset', 'awe', 'new-one.jpg');
    copyFileSync(first.rows[0].path, added);
    pin(added); // a file modified just now is "racily clean": the cache would not keep its hash
    const again = await manifest(folders(root, 'fi'), tax, testIO(ioDir), root);

    expect(again.rows).toHaveLength(first.rows.length + 1);
    const before = new Map(first.rows.map((r) => [r.id, r.hash]));
    const stale = again.rows.filter((r) => before.get(r.id) === r.hash);
    expect(stale).toHaveLength(first.rows.length); // none of the old files was read again
    expect(again.rows.find((r) => r.path === added)?.hash).toBe(createHash('sha256').update(readFileSync(added)).digest('hex'));
    expect(testIO(ioDir).store.hashRows('file').length).toBe(rowsBefore + 1);
    expect(statSync(added).size).toBeGreaterThan(0);
  });
});
