// The contrastive head as a TrainTask: image side Dense(hidden, relu) -> Dense(E, linear), text side the
// frozen CLIP text embedding of a prompt.
//
// Pairing (our reading of the paper; the authors' pairing code is not public): every training image
// contributes one (image, text) pair per enabled caption type per epoch, and all pairs of the epoch are
// shuffled together into batches:
//   sc  — the sentiment caption of the image's class ("a photo that seems to express optimism");
//   ssc — one synonym caption of the image's class, drawn afresh every epoch from the seeded RNG;
//   ic  — the image's own caption (OFA); one drawn per epoch if an image has several.
// With the full [sc, ssc, ic] an epoch has 3 pairs per image. A batch may hold the same sentiment text
// twice (two images of one class): the soft targets of the authors' loss treat those pairs as matches.
import type { PromptKind, PromptRow } from '../formats.js';
import { dataError } from '../data/errors.js';
import type { Taxonomy } from '../data/taxonomy.js';
import type { LabelledSplit } from './data.js';
import { contrastiveStepBuilder, type ContrastiveLoss } from './graphs.js';
import { Rng } from './rng.js';
import type { Examples, Table, TrainTask } from './trainer.js';

/** Prompts with their (normalised) text embeddings: `texts` row k belongs to `rows[k]`. */
export interface PromptTable {
  readonly rows: readonly PromptRow[];
  readonly texts: Table;
  readonly file: string;
}

export interface ContrastiveSetup {
  readonly images: Table;
  readonly train: LabelledSplit;
  readonly val: LabelledSplit;
  readonly taxonomy: Taxonomy;
  readonly prompts: PromptTable;
  readonly captions: readonly PromptKind[];
  readonly loss: ContrastiveLoss;
  readonly tau: number;
  readonly hidden: number;
  readonly seed: number;
  readonly training: Readonly<Record<string, string | number | boolean | readonly string[]>>;
}

/** Prompt rows (indices into the table) per class index (sc, ssc) or per image id (ic). */
interface Pools {
  readonly byClass: Map<PromptKind, number[][]>;
  readonly byImage: Map<string, number[]>;
}

function buildPools(s: ContrastiveSetup): Pools {
  const byClass = new Map<PromptKind, number[][]>();
  const byImage = new Map<string, number[]>();
  for (const kind of ['sc', 'ssc'] as const) byClass.set(kind, s.taxonomy.classes.map(() => []));
  s.prompts.rows.forEach((p, k) => {
    if (p.kind === 'ic') {
      if (p.image === undefined) return;
      const list = byImage.get(p.image) ?? [];
      list.push(k);
      byImage.set(p.image, list);
    } else if (p.taxonomy === s.taxonomy.id && p.class !== undefined) {
      const c = s.taxonomy.classes.findIndex((x) => x.id === p.class);
      if (c >= 0) byClass.get(p.kind)?.[c].push(k);
    }
  });
  for (const kind of s.captions) {
    if (kind === 'ic') continue;
    const empty = s.taxonomy.classes.filter((_, c) => byClass.get(kind)?.[c].length === 0).map((x) => x.id);
    if (empty.length > 0) {
      throw dataError(s.prompts.file, `no ${kind} prompt for ${s.taxonomy.id} class(es) ${empty.join(', ')}`, `Build prompts of kind ${kind} for taxonomy ${s.taxonomy.id}, or drop ${kind} from captions.`);
    }
  }
  return { byClass, byImage };
}

/** The epoch's pairs: image-major, then shuffled; `draw` picks among several candidate prompts. */
function pairs(s: ContrastiveSetup, pools: Pools, split: LabelledSplit, draw: Rng, shuffle: Rng): Examples {
  const k = s.captions.length;
  const xRows = new Uint32Array(split.rows.length * k);
  const targetRows = new Uint32Array(split.rows.length * k);
  let missingIc = 0;
  let example = '';
  for (let i = 0; i < split.rows.length; i++) {
    s.captions.forEach((kind, j) => {
      const pool = kind === 'ic' ? pools.byImage.get(split.ids[i]) : pools.byClass.get(kind)?.[split.labels[i]];
      if (!pool || pool.length === 0) {
        missingIc++;
        example ||= split.ids[i];
        return;
      }
      xRows[i * k + j] = split.rows[i];
      targetRows[i * k + j] = pool.length === 1 ? pool[0] : pool[draw.int(pool.length)];
    });
  }
  if (missingIc > 0) {
    throw dataError(s.prompts.file, `${missingIc} images have no image caption (ic prompt), e.g. ${example}`, 'Caption every training and validation image, or drop ic from captions.');
  }
  const p = shuffle.permutation(xRows.length);
  return { xRows: p.map((i) => xRows[i]), targetRows: p.map((i) => targetRows[i]) };
}

export function contrastiveTask(s: ContrastiveSetup): TrainTask {
  const pools = buildPools(s);
  const dims = { inputDim: s.images.dim, hidden: s.hidden, outputDim: s.prompts.texts.dim };
  return {
    meta: {
      format: 'pipe-clipe-head/1',
      type: 'contrastive',
      ceOutput: null,
      dims,
      taxonomy: s.taxonomy.id,
      classes: s.taxonomy.classes.map((k) => k.id),
      taxonomySettings: s.taxonomy.settings,
      training: s.training,
    },
    images: s.images,
    targets: s.prompts.texts,
    targetInput: 't',
    epochExamples: (epoch) => pairs(s, pools, s.train, new Rng(s.seed, 'draw', epoch), new Rng(s.seed, 'shuffle', epoch)),
    // One fixed draw and order, so that validation losses of different epochs compare the same pairs.
    val: pairs(s, pools, s.val, new Rng(s.seed, 'val-draw'), new Rng(s.seed, 'val-shuffle')),
    step: contrastiveStepBuilder(s.loss, s.tau),
  };
}
