// The contrastive head's pairs (src/train/contrastive.ts), on a hand-made prompt table: which prompt each
// image is paired with, per caption kind, and that the draws are a pure function of seed and epoch.
import { describe, expect, it } from 'vitest';
import type { PromptRow } from '../../src/formats.js';
import { loadTaxonomy } from '../../src/data/taxonomy.js';
import { contrastiveTask, type ContrastiveSetup } from '../../src/train/contrastive.js';
import type { PromptKind } from '../../src/formats.js';

const tax = loadTaxonomy('webemo6', {});
const N = 60;

/** Images img0..img59 (train 0-49, val 50-59); image i has 1 + i % 3 captions; class c has 1 sc and 1 + c % 3 ssc. */
function setup(captions: readonly PromptKind[], seed = 0, drop: readonly string[] = []): ContrastiveSetup {
  const rows: PromptRow[] = [];
  tax.classes.forEach((c, ci) => {
    rows.push({ id: `sc${ci}`, kind: 'sc', taxonomy: tax.id, class: c.id, text: `sc ${c.id}` });
    for (let s = 0; s <= ci % 3; s++) rows.push({ id: `ssc${ci}-${s}`, kind: 'ssc', taxonomy: tax.id, class: c.id, text: `ssc ${c.id} ${s}` });
  });
  for (let i = 0; i < N; i++) for (let k = 0; k <= i % 3; k++) if (!drop.includes(`img${i}`)) rows.push({ id: `ic${i}-${k}`, kind: 'ic', image: `img${i}`, text: `caption ${i} ${k}` });
  const split = (from: number, to: number) => ({
    ids: Array.from({ length: to - from }, (_, i) => `img${from + i}`),
    rows: Uint32Array.from({ length: to - from }, (_, i) => from + i),
    labels: Int32Array.from({ length: to - from }, (_, i) => (from + i) % tax.classes.length),
    missing: 0,
  });
  return {
    images: { data: new Float32Array(N * 4), dim: 4 }, train: split(0, 50), val: split(50, N), taxonomy: tax,
    prompts: { rows, texts: { data: new Float32Array(rows.length * 4), dim: 4 }, file: 'prompts.jsonl' },
    captions, loss: 'soft', tau: 0.075, hidden: 8, seed, training: {},
  };
}

describe('contrastive pairs', () => {
  it('pairs every image once per caption kind with a prompt of its class (sc, ssc) or its own caption (ic)', () => {
    const s = setup(['sc', 'ssc', 'ic']);
    const ex = contrastiveTask(s).epochExamples(1);
    expect(ex.xRows.length).toBe(50 * 3);
    const kinds = new Map<number, string[]>();
    ex.xRows.forEach((x, j) => {
      const p = s.prompts.rows[ex.targetRows[j]];
      if (p.kind === 'ic') expect(p.image).toBe(`img${x}`);
      else expect(p.class).toBe(tax.classes[x % tax.classes.length].id);
      kinds.set(x, [...(kinds.get(x) ?? []), p.kind].sort());
    });
    for (let i = 0; i < 50; i++) expect(kinds.get(i)).toEqual(['ic', 'sc', 'ssc']);
  });

  it('draws among several captions afresh each epoch, the same draws for the same seed and epoch', () => {
    const a = contrastiveTask(setup(['ic'], 3));
    const b = contrastiveTask(setup(['ic'], 3));
    expect(b.epochExamples(2)).toEqual(a.epochExamples(2));
    expect(b.val).toEqual(a.val);
    // Image 2 has three captions: over ten epochs each of them is drawn.
    const drawn = new Set<number>();
    for (let e = 1; e <= 10; e++) {
      const ex = a.epochExamples(e);
      drawn.add(ex.targetRows[ex.xRows.indexOf(2)]);
    }
    expect(drawn.size).toBe(3);
  });

  it('names the images without a caption when an ic head needs one', () => {
    const task = contrastiveTask(setup(['sc', 'ic'], 0, ['img7', 'img9']));
    expect(() => task.epochExamples(1)).toThrow('prompts.jsonl: 2 images have no image caption (ic prompt), e.g. img7');
    // Without ic, captions are not needed.
    expect(contrastiveTask(setup(['sc'], 0, ['img7'])).epochExamples(1).xRows.length).toBe(50);
  });
});
