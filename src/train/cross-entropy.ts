// The CE head as a TrainTask: Dense(hidden, relu) -> Dense(C) softmax, or the authors' binary variant
// Dense(1) sigmoid with p = P(classes[1]) (`positive` in every binary taxonomy file).
import { dataError } from '../data/errors.js';
import type { Taxonomy } from '../data/taxonomy.js';
import type { LabelledSplit } from './data.js';
import { ceStepBuilder, type CeOutput } from './graphs.js';
import { Rng } from './rng.js';
import type { Examples, Table, TrainTask } from './trainer.js';

export interface CrossEntropySetup {
  readonly images: Table;
  readonly train: LabelledSplit;
  readonly val: LabelledSplit;
  readonly taxonomy: Taxonomy;
  readonly output: CeOutput;
  readonly hidden: number;
  readonly seed: number;
  readonly training: Readonly<Record<string, string | number | boolean>>;
}

/** Target rows: one-hot rows of the C classes (softmax) or the 0/1 target of the sigmoid unit. */
function targetTable(c: number, output: CeOutput): Table {
  if (output === 'sigmoid') return { data: Float32Array.of(0, 1), dim: 1 };
  const data = new Float32Array(c * c);
  for (let k = 0; k < c; k++) data[k * c + k] = 1;
  return { data, dim: c };
}

/**
 * The head's task. It keeps the splits' rows and labels and the matrix, not the setup: the image ids and
 * the matrix's id index stay out of a training stage's heap (fewer objects for every full collection).
 */
export function crossEntropyTask(s: CrossEntropySetup): TrainTask {
  const c = s.taxonomy.classes.length;
  if (s.output === 'sigmoid' && c !== 2) {
    throw dataError(`taxonomy ${s.taxonomy.id}`, `has ${c} classes; the sigmoid head needs exactly 2`, 'Use output: softmax, or a binary taxonomy (webemo2, fi2, ...).');
  }
  const dims = { inputDim: s.images.dim, hidden: s.hidden, outputDim: s.output === 'sigmoid' ? 1 : c };
  const shuffled = (split: Pick<LabelledSplit, 'rows' | 'labels'>, rng: Rng): Examples => {
    const p = rng.permutation(split.rows.length);
    return { xRows: p.map((i) => split.rows[i]), targetRows: p.map((i) => split.labels[i]) };
  };
  const train = { rows: s.train.rows, labels: s.train.labels };
  const seed = s.seed;
  return {
    meta: {
      format: 'pipe-clipe-head/1',
      type: 'cross_entropy',
      ceOutput: s.output,
      dims,
      taxonomy: s.taxonomy.id,
      classes: s.taxonomy.classes.map((k) => k.id),
      taxonomySettings: s.taxonomy.settings,
      training: s.training,
    },
    images: { data: s.images.data, dim: s.images.dim },
    targets: targetTable(c, s.output),
    targetInput: 'y',
    epochExamples: (epoch) => shuffled(train, new Rng(seed, 'shuffle', epoch)),
    // Validation order does not change the loss; kept in manifest order.
    val: { xRows: s.val.rows, targetRows: Uint32Array.from(s.val.labels) },
    step: ceStepBuilder(s.output),
  };
}
