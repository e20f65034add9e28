import { describe, expect, it } from 'vitest';
import { buildCells, unplacedRows, type Cell } from '../../src/report/cells.js';
import { loadPaperResults } from '../../src/report/paper.js';
import { ReportDataError } from '../../src/report/series.js';
import { row, trained } from './fixtures.js';

const find = (cells: Cell[], method: string, taxonomy: string): Cell => cells.find((c) => c.method === method && c.taxonomy === taxonomy)!;

describe('table cells', () => {
  // CE on webemo6: seed 0 stops at epoch 3, seed 1 at epoch 4; accuracy rises on WEBEmo.
  const ce = trained('clipe_cross_entropy', 'webemo6', [0, 1], (s) => 3 + s, (s, e) => 0.5 + e * 0.01 + s * 0.002);
  // On FI 2 cat the same head peaks at epoch 2 and then loses generality.
  const ceFi = trained('clipe_cross_entropy', 'fi2', [0, 1], (s) => 3 + s, (s, e) => [0, 0.8, 0.84, 0.82, 0.79][e] + s * 0.01);
  const ceFi8 = trained('clipe_cross_entropy', 'fi8', [0, 1], (s) => 3 + s, () => null);
  const zs = [row('clip_zero_shot', 'webemo6', null, null, 0.3896)];

  it('averages the final epoch of each seed, even when seeds stop at different epochs', () => {
    const c = find(buildCells([...ce, ...zs], { mode: 'final' }), 'clipe_cross_entropy', 'webemo6');
    expect(c.status).toBe('value');
    expect(c.epochs).toEqual([3, 4]);
    expect(c.values[0]).toBeCloseTo(53, 10);
    expect(c.values[1]).toBeCloseTo(54.2, 10);
    expect(c.mean).toBeCloseTo(53.6, 10);
    expect(c.std).toBeCloseTo(Math.sqrt(((0.6 ** 2) * 2) / 1), 10); // sample std of 53.0 and 54.2
  });

  it('best epoch: one epoch shared by all seeds with the highest seed mean', () => {
    const c = find(buildCells(ceFi, { mode: 'best' }), 'clipe_cross_entropy', 'fi2');
    expect(c.epochs).toEqual([2, 2]);
    expect(c.mean).toBeCloseTo(84.5, 10);
    const f = find(buildCells(ceFi, { mode: 'final' }), 'clipe_cross_entropy', 'fi2');
    expect(f.epochs).toEqual([3, 4]);
    expect(f.mean).toBeCloseTo((82 + 80) / 2, 10);
  });

  it("null values are 'x' cells, absent rows are 'missing', untrained rows have no epoch", () => {
    const cells = buildCells([...ce, ...ceFi8, ...zs], { mode: 'final' });
    expect(find(cells, 'clipe_cross_entropy', 'fi8').status).toBe('x');
    expect(find(cells, 'clipe_contrastive', 'fi8').status).toBe('missing');
    const z = find(cells, 'clip_zero_shot', 'webemo6');
    expect(z).toMatchObject({ status: 'value', epochs: [], std: null });
    expect(z.mean).toBeCloseTo(38.96, 10);
    expect(cells).toHaveLength(9 * 10);
  });

  it('marks best and second best per column by the printed (2-decimal) mean, ties share a rank', () => {
    const rows = [
      row('random', 'webemo2', 0, null, 0.5),
      row('most_represented_class', 'webemo2', null, null, 0.54),
      row('clip_zero_shot', 'webemo2', null, null, 0.72449999),
      row('clipe_contrastive_sc', 'webemo2', null, null, 0.7245),
      row('clipe_contrastive_ic', 'webemo2', null, null, 0.8),
    ];
    const cells = buildCells(rows, { mode: 'final' }).filter((c) => c.taxonomy === 'webemo2');
    expect(find(cells, 'clipe_contrastive_ic', 'webemo2').rank).toBe(1);
    expect(find(cells, 'clip_zero_shot', 'webemo2').rank).toBe(2);
    expect(find(cells, 'clipe_contrastive_sc', 'webemo2').rank).toBe(2);
    expect(find(cells, 'random', 'webemo2').rank).toBeNull();
  });

  it('puts the published value and our difference beside each cell', () => {
    const paper = loadPaperResults();
    const c = find(buildCells([...ce, ...ceFi8], { mode: 'final', paper }), 'clipe_cross_entropy', 'webemo6');
    expect(c.paper).toBe(56.42);
    expect(c.diff).toBeCloseTo(53.6 - 56.42, 10);
    expect(find(buildCells(ceFi8, { mode: 'final', paper }), 'clipe_cross_entropy', 'fi8').paper).toBe('X');
  });

  it('accepts identical duplicates, rejects conflicting ones unless a tag filter selects a variant', () => {
    expect(() => buildCells([...ce, ...ce], { mode: 'final' })).not.toThrow();
    const soft = ce.map((r) => ({ ...r, tags: { loss: 'soft' } }));
    const hard = ce.map((r) => ({ ...r, value: r.value! - 0.1, tags: { loss: 'hard' } }));
    expect(() => buildCells([...soft, ...hard], { mode: 'final' })).toThrow(ReportDataError);
    const c = find(buildCells([...soft, ...hard], { mode: 'final', tags: { loss: 'hard' } }), 'clipe_cross_entropy', 'webemo6');
    expect(c.mean).toBeCloseTo(43.6, 10);
  });

  it('rejects accuracies that are not fractions and rows naming the wrong dataset', () => {
    expect(() => buildCells([row('random', 'webemo2', 0, null, 50)], { mode: 'final' })).toThrow(/not a fraction/);
    expect(() => buildCells([{ ...row('random', 'webemo2', 0, null, 0.5), dataset: 'fi' }], { mode: 'final' })).toThrow(/expects webemo/);
  });

  it('lists rows that fit no cell', () => {
    expect(unplacedRows([row('random', 'webemo2', 0, null, 0.5), { ...row('random', 'webemo2', 0, null, 0.5), taxonomy: 'webemo7' }, row('mystery', 'fi2', 0, null, 0.1)])).toEqual(['mystery/fi2', 'random/webemo7']);
  });
});

describe('a method with one head per taxonomy', () => {
  it("fills a cell from the head that can express it; 'X' rows of the others give way, whatever epoch they stop at", () => {
    // CE: the 2-class head stops at epoch 3, the 6-class head at epoch 5; both are evaluated on iaps2.
    const binary = trained('clipe_cross_entropy', 'iaps2', [0], () => 3, (_, e) => 0.7 + e / 100);
    const six = trained('clipe_cross_entropy', 'iaps2', [0], () => 5, () => null);
    for (const rows of [[...binary, ...six], [...six, ...binary]]) {
      const c = find(buildCells(rows, { mode: 'final' }), 'clipe_cross_entropy', 'iaps2');
      expect(c.status).toBe('value');
      expect(c.epochs).toEqual([3]);
      expect(c.mean).toBeCloseTo(73, 10);
    }
    expect(find(buildCells(six, { mode: 'final' }), 'clipe_cross_entropy', 'iaps2').status).toBe('x');
  });
});
