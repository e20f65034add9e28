// Generated, deterministic CLIP-like data with a learnable class structure: a text vector per WEBEmo-25
// class (clustered by its level-2 parent), images = 2·t_class + Gaussian noise in the same space (so
// zero-shot works too), prompt embeddings for every taxonomy used, synonyms and per-image captions.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ManifestRow, PromptRow } from '../../src/formats.js';
import { labelsAtAllLevels, loadTaxonomy, type Taxonomy } from '../../src/data/taxonomy.js';
import { writeJsonl } from '../../src/io/jsonl.js';
import { writeNpy } from '../../src/io/npy.js';
import { Rng } from '../../src/train/rng.js';

export const DIM = 16;

function gauss(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(Math.max(rng.next(), 1e-12))) * Math.cos(2 * Math.PI * rng.next());
}

function unit(v: number[]): number[] {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

const noisy = (rng: Rng, v: readonly number[], sd: number): number[] => v.map((x) => x + sd * gauss(rng));
const mean = (vs: number[][]): number[] => vs[0].map((_, d) => vs.reduce((a, v) => a + v[d], 0) / vs.length);

export interface World {
  readonly dir: string;
  readonly webemo: { manifest: string; embeddings: string; index: string };
  readonly emotion6: { manifest: string; embeddings: string; index: string };
  readonly fi: { manifest: string; embeddings: string; index: string };
  readonly prompts: { prompts: string; embeddings: string; index: string };
}

interface Img {
  id: string;
  split: string;
  labels: Record<string, string>;
  vec: number[];
}

function writeDataset(dir: string, name: string, imgs: Img[]): { manifest: string; embeddings: string; index: string } {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  const manifest = join(d, 'manifest.jsonl');
  const embeddings = join(d, 'embeddings.npy');
  const index = join(d, 'index.jsonl');
  writeJsonl(manifest, imgs.map((m): ManifestRow => ({ id: m.id, path: `/data/${name}/${m.id}.jpg`, hash: '0'.repeat(64), split: m.split, labels: m.labels })));
  writeNpy(embeddings, Float32Array.from(imgs.flatMap((m) => m.vec)), [imgs.length, DIM]);
  writeJsonl(index, imgs.map((m, row) => ({ id: m.id, row })));
  return { manifest, embeddings, index };
}

/** `perClass` = [train, val, test] images per WEBEmo-25 class. */
export function makeWorld(dir: string, perClass: [number, number, number] = [16, 4, 8], noise = 0.3): World {
  const rng = new Rng(2024, 'world');
  const w25 = loadTaxonomy('webemo25');
  const w6 = loadTaxonomy('webemo6');
  const parentVec = new Map(w6.classes.map((c) => [c.id, unit(noisy(rng, new Array(DIM).fill(0), 1))]));
  const text25 = new Map(w25.classes.map((c) => [c.id, unit(noisy(rng, parentVec.get(w25.parents.webemo6[c.id]) as number[], 0.6))]));
  const classText = (tax: Taxonomy, cls: string): number[] => {
    // A coarser class's text vector: the mean of its WEBEmo-25 children (via the aligned/binary mapping).
    const children = w25.classes.filter((c) => Object.values(labelsAtAllLevels(w25, c.id)).includes(cls) || (tax.binary && labelsAtAllLevels(w25, c.id).webemo2 === cls));
    return unit(mean(children.map((c) => text25.get(c.id) as number[])));
  };

  const webemo: Img[] = [];
  const captions: PromptRow[] = [];
  const captionVecs: number[][] = [];
  const splits = ['train', 'val', 'test'];
  for (const c of w25.classes) {
    splits.forEach((split, s) => {
      for (let i = 0; i < perClass[s]; i++) {
        const t = text25.get(c.id) as number[];
        const id = `${c.id}/${split}-${i}`;
        webemo.push({ id, split, labels: labelsAtAllLevels(w25, c.id), vec: noisy(rng, t.map((x) => 2 * x), noise) });
        captions.push({ id: `ic:${id}`, kind: 'ic', text: `a photo of ${c.id} ${i}`, image: id });
        captionVecs.push(noisy(rng, t, 0.4));
      }
    });
  }
  const e6 = loadTaxonomy('emotion6_6');
  const emotion6: Img[] = [];
  for (let i = 0; i < 120; i++) {
    const c = w25.classes[rng.int(w25.classes.length)];
    const cls = labelsAtAllLevels(w25, c.id).webemo6;
    emotion6.push({ id: `e6-${i}`, split: 'test', labels: labelsAtAllLevels(e6, cls), vec: noisy(rng, (text25.get(c.id) as number[]).map((x) => 2 * x), noise) });
  }
  const fi8 = loadTaxonomy('fi8');
  const fi: Img[] = [];
  for (let i = 0; i < 40; i++) {
    const cls = fi8.classes[i % fi8.classes.length].id;
    fi.push({ id: `fi-${i}`, split: 'test', labels: labelsAtAllLevels(fi8, cls), vec: noisy(rng, new Array(DIM).fill(0), 1) });
  }

  const prompts: PromptRow[] = [];
  const promptVecs: number[][] = [];
  for (const taxId of ['webemo25', 'webemo6', 'webemo2', 'emotion6_6', 'emotion6_2', 'fi8', 'fi2']) {
    const tax = loadTaxonomy(taxId);
    for (const c of tax.classes) {
      prompts.push({ id: `sc:${taxId}:${c.id}`, kind: 'sc', text: `a photo that seems to express ${c.name}`, taxonomy: taxId, class: c.id });
      promptVecs.push(taxId.startsWith('fi8') ? unit(noisy(rng, new Array(DIM).fill(0), 1)) : taxId === 'webemo25' ? (text25.get(c.id) as number[]) : classText(tax, c.id));
    }
  }
  for (const c of w25.classes) {
    for (let s = 0; s < 3; s++) {
      prompts.push({ id: `ssc:webemo25:${c.id}:${s}`, kind: 'ssc', text: `a photo that seems to express ${c.name} synonym ${s}`, taxonomy: 'webemo25', class: c.id });
      promptVecs.push(noisy(rng, text25.get(c.id) as number[], 0.2));
    }
  }
  prompts.push(...captions);
  promptVecs.push(...captionVecs);
  const pdir = join(dir, 'prompts');
  mkdirSync(pdir, { recursive: true });
  writeJsonl(join(pdir, 'prompts.jsonl'), prompts);
  writeNpy(join(pdir, 'embeddings.npy'), Float32Array.from(promptVecs.flat()), [prompts.length, DIM]);
  writeJsonl(join(pdir, 'index.jsonl'), prompts.map((p, row) => ({ id: p.id, row, text: p.text })));
  return {
    dir,
    webemo: writeDataset(dir, 'webemo', webemo),
    emotion6: writeDataset(dir, 'emotion6', emotion6),
    fi: writeDataset(dir, 'fi', fi),
    prompts: { prompts: join(pdir, 'prompts.jsonl'), embeddings: join(pdir, 'embeddings.npy'), index: join(pdir, 'index.jsonl') },
  };
}
