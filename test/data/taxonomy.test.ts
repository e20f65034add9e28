import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { classIndex, labelsAtAllLevels, loadTaxonomy, mapLabel } from '../../src/data/taxonomy.js';
import { runPipe } from '../support/index.js';
import { tempDir } from './support.js';

const dir = tempDir('tax');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('taxonomies', () => {
  it('ships every taxonomy id of the paper', () => {
    const sizes = Object.fromEntries(
      ['webemo25', 'webemo6', 'webemo2', 'fi8', 'fi2', 'iaps2', 'emotion6_6', 'emotion6_2', 'emotionroi6', 'emotionroi2'].map((id) => [id, loadTaxonomy(id).classes.length]),
    );
    expect(sizes).toEqual({ webemo25: 25, webemo6: 6, webemo2: 2, fi8: 8, fi2: 2, iaps2: 2, emotion6_6: 6, emotion6_2: 2, emotionroi6: 6, emotionroi2: 2 });
  });

  it('keeps WEBEmo label order and dataset spellings, with display names beside', () => {
    const t = loadTaxonomy('webemo25');
    expect(classIndex(t, 'affection')).toBe(0);
    expect(classIndex(t, 'zest')).toBe(24);
    expect(t.classes[1]).toEqual({ id: 'cheerfullness', name: 'cheerfulness' });
    expect(t.classes[11]).toEqual({ id: 'irritabilty', name: 'irritability' });
    expect(t.levels).toEqual(['webemo25', 'webemo6', 'webemo2']);
    expect(loadTaxonomy('webemo6').classes.map((c) => c.id)).toEqual(['anger', 'fear', 'joy', 'love', 'sadness', 'surprise']);
  });

  it('maps 25 -> 6 -> 2 with the confusion setting (default sadness)', () => {
    const def = loadTaxonomy('webemo25');
    expect(def.settings).toEqual({ confusion: 'sadness' });
    expect(mapLabel(def, 'webemo6', 'confusion')).toBe('sadness');
    expect(mapLabel(def, 'webemo2', 'optimism')).toBe('positive');
    expect(labelsAtAllLevels(def, 'optimism')).toEqual({ webemo25: 'optimism', webemo6: 'joy', webemo2: 'positive' });
    const own = loadTaxonomy('webemo25', { confusion: 'own' });
    expect(mapLabel(own, 'webemo6', 'confusion')).toBe('confusion');
    expect(mapLabel(own, 'webemo2', 'confusion')).toBe('negative');
    const six = loadTaxonomy('webemo6', { confusion: 'own' });
    expect(six.id).toBe('webemo6');
    expect(six.classes.map((c) => c.id)).toEqual(['anger', 'fear', 'joy', 'love', 'sadness', 'surprise', 'confusion']);
  });

  it('maps 8 -> 2, 6 -> 2 and across aligned taxonomies', () => {
    expect(mapLabel(loadTaxonomy('fi8'), 'fi2', 'awe')).toBe('positive');
    expect(mapLabel(loadTaxonomy('emotionroi6'), 'emotionroi2', 'disgust')).toBe('negative');
    expect(mapLabel(loadTaxonomy('emotion6_6'), 'emotion6_2', 'surprise')).toBe('positive');
    expect(mapLabel(loadTaxonomy('webemo25'), 'emotion6_6', 'lust')).toBe('love');
    expect(mapLabel(loadTaxonomy('fi8'), 'webemo2', 'anger')).toBe('negative');
  });

  it('says why a mapping or a class does not exist', () => {
    expect(() => mapLabel(loadTaxonomy('fi8'), 'webemo6', 'anger')).toThrow(
      'mapLabel fi8 -> webemo6: webemo6 is neither a coarser level of fi8 (fi8 -> fi2) nor aligned with one',
    );
    expect(() => mapLabel(loadTaxonomy('webemo25'), 'webemo6', 'happiness')).toThrow(
      'taxonomy webemo25: unknown class "happiness" (classes: affection, cheerfullness, confusion',
    );
    expect(() => loadTaxonomy('webemo6', { confusion: 'maybe' as 'own' })).toThrow(/setting confusion: "maybe" is not one of sadness, own/);
    expect(() => loadTaxonomy('nope')).toThrow(/^taxonomy "nope": no file nope.yaml in /);
  });

  it('loads a user taxonomy file without code changes, and validates it', () => {
    const user = join(dir, 'user');
    mkdirSync(user);
    writeFileSync(join(user, 'mood3.yaml'), 'id: mood3\ndataset: moods\nparent: mood2\nclasses:\n  - { id: calm, parent: positive }\n  - { id: happy, parent: positive }\n  - { id: grim, name: Grim, parent: negative }\n');
    writeFileSync(join(user, 'mood2.yaml'), 'id: mood2\ndataset: moods\nbinary: true\nclasses: [{ id: negative }, { id: positive }]\n');
    const t = loadTaxonomy('mood3', { dirs: [user] });
    expect(t.classes).toEqual([{ id: 'calm', name: 'calm' }, { id: 'happy', name: 'happy' }, { id: 'grim', name: 'Grim' }]);
    expect(mapLabel(t, 'mood2', 'grim')).toBe('negative');
    expect(mapLabel(t, 'fi2', 'calm')).toBe('positive');

    writeFileSync(join(user, 'bad3.yaml'), 'id: bad3\ndataset: moods\nparent: mood2\nclasses:\n  - { id: calm, parent: positive }\n  - { id: grim, parent: gloomy }\n');
    expect(() => loadTaxonomy('bad3', { dirs: [user] })).toThrow(`${join(user, 'bad3.yaml')}: class grim: parent "gloomy" is not a class of mood2 (negative, positive)`);
    writeFileSync(join(user, 'bad4.yaml'), 'id: bad4\ndataset: moods\nclasses:\n  - { id: calm, colour: blue }\n  - { id: grim }\n');
    expect(() => loadTaxonomy('bad4', { dirs: [user] })).toThrow(`${join(user, 'bad4.yaml')}: not a valid taxonomy file: /classes/0 must NOT have additional properties`);
  });

  it('`pipe taxonomy` shows a workspace taxonomy and checks the files', async () => {
    const ws = join(dir, 'ws');
    cpSync(join(dir, 'user'), join(ws, 'taxonomies'), { recursive: true });
    const shown = await runPipe(['taxonomy', 'mood3', '--dir', 'taxonomies'], { cwd: ws });
    expect(shown.exitCode, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('mood3: mood3 (dataset moods, 3 classes, -> mood2)');
    expect(shown.stdout).toMatch(/ 2 {2}grim \(Grim\) +-> negative/);
    const all = await runPipe(['taxonomy', '--dir', 'taxonomies'], { cwd: ws });
    expect(all.exitCode).toBe(1);
    expect(all.stdout).toMatch(/^webemo25 +25 classes {2}webemo6 -> webemo2 /m);
    expect(all.stderr).toContain(`error: ${join(ws, 'taxonomies', 'bad3.yaml')}: class grim: parent "gloomy" is not a class of mood2 (negative, positive)`);
  });
});
