// Which taxonomies a CE head can predict, and in which column order.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTaxonomy } from '../../src/data/taxonomy.js';
import { samePrediction } from '../../src/eval/evaluate.js';

describe('samePrediction', () => {
  it('maps aligned taxonomies column by column, whatever their class order', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipe-tax-'));
    const classes = ['surprise', 'sadness', 'love', 'joy', 'fear', 'anger'];
    writeFileSync(join(dir, 'mirror6.yaml'), `id: mirror6\ndataset: mirror\naligned: [webemo6]\nclasses:\n${classes.map((c) => `  - { id: ${c} }`).join('\n')}\n`);
    const mirror = loadTaxonomy('mirror6', { dirs: [dir] });
    expect(Array.from(samePrediction(loadTaxonomy('webemo6'), mirror) ?? [])).toEqual([5, 4, 3, 2, 1, 0]);
  });

  it('binary heads predict every binary taxonomy; other pairs are not computable', () => {
    expect(Array.from(samePrediction(loadTaxonomy('webemo2'), loadTaxonomy('iaps2')) ?? [])).toEqual([0, 1]);
    expect(samePrediction(loadTaxonomy('webemo6'), loadTaxonomy('webemo2'))).toBeNull();
    expect(samePrediction(loadTaxonomy('webemo6'), loadTaxonomy('emotionroi6'))).toBeNull();
    expect(samePrediction(loadTaxonomy('webemo25'), loadTaxonomy('webemo6'))).toBeNull();
  });
});
