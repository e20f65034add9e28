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

/**
 * The image captions (ic prompt rows, in table order) of each image of a split, as one list with offsets:
 * image i's are `rows[start[i] .. start[i + 1])`. Typed arrays, not a map of per-image arrays: a stage
 * keeps them for its whole training, and 267k small arrays in its heap made every full garbage collection
 * mark them (BENCHMARKS.md, "A stage against bench:train").
 */
interface SplitCaptions {
  readonly start: Uint32Array;
  readonly rows: Uint32Array;
  /** Images without any caption, and the first of them (a caption-less image fails an `ic` head). */
  readonly missing: number;
  readonly example: string;
}

/** What an epoch's pairs are drawn from: prompt rows per class (sc, ssc) and per image (ic, by split). */
interface Pools {
  readonly byClass: Map<PromptKind, number[][]>;
  readonly train: SplitCaptions | null;
  readonly val: SplitCaptions | null;
}

function captionsOf(split: LabelledSplit, byImage: ReadonlyMap<string, readonly number[]>): SplitCaptions {
  const start = new Uint32Array(split.ids.length + 1);
  const rows: number[] = [];
  let missing = 0;
  let example = '';
  split.ids.forEach((id, i) => {
    const pool = byImage.get(id) ?? [];
    if (pool.length === 0) {
      missing++;
      example ||= id;
    }
    for (const k of pool) rows.push(k);
    start[i + 1] = rows.length;
  });
  return { start, rows: Uint32Array.from(rows), missing, example };
}

function buildPools(s: ContrastiveSetup): Pools {
  const byClass = new Map<PromptKind, number[][]>();
  // Only while the pools are built: an ic head keeps each split's captions as typed arrays.
  const byImage = new Map<string, number[]>();
  const ic = s.captions.includes('ic');
  for (const kind of ['sc', 'ssc'] as const) byClass.set(kind, s.taxonomy.classes.map(() => []));
  s.prompts.rows.forEach((p, k) => {
    if (p.kind === 'ic') {
      if (!ic || p.image === undefined) return;
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
  return { byClass, train: ic ? captionsOf(s.train, byImage) : null, val: ic ? captionsOf(s.val, byImage) : null };
}

/** What the pairs of a split are made of: the captions in use, and where the errors point. */
interface PairSource {
  readonly captions: readonly PromptKind[];
  readonly byClass: Map<PromptKind, number[][]>;
  readonly file: string;
}

/** The epoch's pairs: image-major, then shuffled; `draw` picks among several candidate prompts. */
function pairs(src: PairSource, split: Pick<LabelledSplit, 'rows' | 'labels'>, ic: SplitCaptions | null, draw: Rng, shuffle: Rng): Examples {
  if (ic && ic.missing > 0) {
    throw dataError(src.file, `${ic.missing} images have no image caption (ic prompt), e.g. ${ic.example}`, 'Caption every training and validation image, or drop ic from captions.');
  }
  const k = src.captions.length;
  const xRows = new Uint32Array(split.rows.length * k);
  const targetRows = new Uint32Array(split.rows.length * k);
  const pools = src.captions.map((kind) => (kind === 'ic' ? null : (src.byClass.get(kind) as number[][])));
  for (let i = 0; i < split.rows.length; i++) {
    for (let j = 0; j < k; j++) {
      xRows[i * k + j] = split.rows[i];
      const pool = pools[j];
      if (pool) {
        const p = pool[split.labels[i]];
        targetRows[i * k + j] = p.length === 1 ? p[0] : p[draw.int(p.length)];
      } else {
        const [from, n] = [(ic as SplitCaptions).start[i], (ic as SplitCaptions).start[i + 1] - (ic as SplitCaptions).start[i]];
        targetRows[i * k + j] = (ic as SplitCaptions).rows[n === 1 ? from : from + draw.int(n)];
      }
    }
  }
  const p = shuffle.permutation(xRows.length);
  return { xRows: p.map((i) => xRows[i]), targetRows: p.map((i) => targetRows[i]) };
}

/**
 * The head's task. It keeps what its epochs are drawn from (the pools, the splits' rows and labels, the
 * matrices), not the setup: the prompt rows and image ids stay out of a training stage's heap.
 */
export function contrastiveTask(s: ContrastiveSetup): TrainTask {
  const pools = buildPools(s);
  const src: PairSource = { captions: s.captions, byClass: pools.byClass, file: s.prompts.file };
  const train = { rows: s.train.rows, labels: s.train.labels };
  const seed = s.seed;
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
    images: { data: s.images.data, dim: s.images.dim },
    targets: { data: s.prompts.texts.data, dim: s.prompts.texts.dim },
    targetInput: 't',
    epochExamples: (epoch) => pairs(src, train, pools.train, new Rng(seed, 'draw', epoch), new Rng(seed, 'shuffle', epoch)),
    // One fixed draw and order, so that validation losses of different epochs compare the same pairs.
    val: pairs(src, s.val, pools.val, new Rng(seed, 'val-draw'), new Rng(seed, 'val-shuffle')),
    step: contrastiveStepBuilder(s.loss, s.tau),
  };
}
