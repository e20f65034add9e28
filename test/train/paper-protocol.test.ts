// The paper's contrastive inference (section III-A) on a hand-made case: a synonym prompt is the most
// similar one, counts as its class, and the 25-category prediction goes up the hierarchy to 6 and 2.
import { describe, expect, it } from 'vitest';
import type { PromptRow } from '../../src/formats.js';
import { loadTaxonomy, type Taxonomy } from '../../src/data/taxonomy.js';
import { classPrompts, promptClassScores, type PromptChoice } from '../../src/eval/prompts.js';
import type { PromptTable } from '../../src/train/contrastive.js';

const DIM = 32;
const w25 = loadTaxonomy('webemo25');
const e6 = loadTaxonomy('emotion6_6');

function unit(...parts: [number, number][]): number[] {
  const v = new Array<number>(DIM).fill(0);
  for (const [d, x] of parts) v[d] = x;
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/**
 * Every webemo25 class's sentiment caption along its own axis; one synonym caption of optimism
 * ("positivity") along axis 30; emotion6_6's captions along axes 25..30 shifted (another dataset).
 */
function table(): PromptTable {
  const rows: PromptRow[] = [];
  const vecs: number[][] = [];
  w25.classes.forEach((c, k) => {
    rows.push({ id: `sc/webemo25/${c.id}`, kind: 'sc', text: `a photo that seems to express ${c.name}`, taxonomy: 'webemo25', class: c.id });
    vecs.push(unit([k, 1]));
  });
  rows.push({ id: 'ssc/webemo25/optimism/0', kind: 'ssc', text: 'a photo that seems to express positivity', taxonomy: 'webemo25', class: 'optimism' });
  vecs.push(unit([30, 1]));
  e6.classes.forEach((c, k) => {
    rows.push({ id: `sc/emotion6_6/${c.id}`, kind: 'sc', text: `a photo that seems to express ${c.name}`, taxonomy: 'emotion6_6', class: c.id });
    vecs.push(unit([25 + k, 1]));
  });
  return { rows, texts: { data: Float32Array.from(vecs.flat()), dim: DIM }, file: 'hand-made prompts.jsonl' };
}

async function predicted(image: number[], target: Taxonomy, choice: PromptChoice): Promise<{ cls: string; tags: Readonly<Record<string, string>> }> {
  const ort = await import('onnxruntime-node');
  const t = table();
  const cp = classPrompts(t, target, choice);
  if ('notComputable' in cp) throw new Error(cp.notComputable);
  const scores = await promptClassScores(ort, Float32Array.from(image), 1, t, cp, target.classes.length);
  const best = scores.indexOf(Math.max(...scores));
  return { cls: target.classes[best].id, tags: cp.tags };
}

describe("the paper's contrastive inference protocol", () => {
  // Mostly the synonym's direction, a little of sadness's: only the synonym prompt makes it optimism.
  const image = unit([30, 0.9], [w25.classes.findIndex((c) => c.id === 'sadness'), 0.3]);
  const paper: PromptChoice = { source: 'paper', taxonomy: 'webemo25' };

  it('a synonym prompt wins and counts as its class, on 25 categories', async () => {
    const r = await predicted(image, w25, paper);
    expect(r.cls).toBe('optimism');
    expect(r.tags).toEqual({ prompts: 'paper', prompt_taxonomy: 'webemo25', prompt_count: '26', synonym_prompts: '1' });
    // Without synonyms (each taxonomy's own sentiment captions), the same image is sadness.
    expect((await predicted(image, w25, { source: 'own' })).cls).toBe('sadness');
  });

  it('WEBEmo 6 and 2 categories take the 25-category prediction up the hierarchy', async () => {
    const six = await predicted(image, loadTaxonomy('webemo6'), paper);
    expect(six.cls).toBe('joy');
    expect(six.tags).toMatchObject({ prompt_taxonomy: 'webemo25', synonym_prompts: '1' });
    const two = await predicted(image, loadTaxonomy('webemo2'), paper);
    expect(two.cls).toBe('positive');
    expect(two.tags).toMatchObject({ prompts: 'paper', prompt_taxonomy: 'webemo25', prompt_count: '26' });
  });

  it("another dataset's taxonomy is scored with its own classes' prompts", async () => {
    const r = await predicted(unit([25 + 2, 1]), e6, paper);
    expect(r.cls).toBe(e6.classes[2].id);
    expect(r.tags).toEqual({ prompts: 'paper', prompt_taxonomy: 'emotion6_6', prompt_count: '6', synonym_prompts: '0' });
  });
});
