// Class distributions of images from a head a recorded run trained (the paper's Fig. 3): pick the head,
// embed the images with the run's CLIP model, and for a contrastive head score them against one prompt per
// class of any taxonomy (prompts the run did not build are built and embedded here, with its template).
import { loadClipModel, CLIP_DTYPES, type ClipModel } from '../clip/model.js';
import { embedImages } from '../clip/embed.js';
import { scPrompts } from '../data/prompts.js';
import { loadTaxonomy, type Taxonomy } from '../data/taxonomy.js';
import { loadPromptTable, SCORING_KINDS } from '../eval/prompts.js';
import { loadHead, predict } from '../eval/predict.js';
import type { Json } from '../stage-api.js';
import type { Store } from '../store/index.js';
import type { PromptTable } from '../train/contrastive.js';
import { normaliseRows } from '../train/data.js';
import { headWeightsDir, keyedPath, recordedInstances, RunArtifactError, runHeads, runModel, type RunHead, type WeightsChoice } from './run-artifacts.js';

export interface PredictRunOptions {
  readonly workspace: string;
  readonly run: number;
  readonly head: 'ce' | 'contrastive';
  /** CE: which of the run's heads (default the finest); contrastive: the target taxonomy (default its own). */
  readonly taxonomy?: string;
  /** Which weights: the last epoch trained (`final`, the default, as the paper's tables), the early-stopping `best`, or an epoch. */
  readonly weights?: WeightsChoice;
  /** Training seed of the head (default the lowest). */
  readonly seed?: number;
  /** Overrides the run's CLIP model folder. */
  readonly model?: string;
  /** Classes per image; 0 = all. */
  readonly top: number;
  /** Progress and warnings (stderr). */
  log(line: string): void;
}

export interface ImagePrediction {
  readonly image: string;
  /** Sorted by decreasing probability. */
  readonly classes: readonly { readonly class: string; readonly p: number }[];
}

export interface PredictRunResult {
  /** Which head: instance, type, taxonomy, seed, epoch, run. */
  readonly head: string;
  readonly taxonomy: string;
  /** The weights asked for and the epoch they are. */
  readonly weights: { readonly choice: WeightsChoice; readonly epoch: number };
  readonly predictions: readonly ImagePrediction[];
}

/** The CE head of the requested taxonomy (default the finest), or the full SC+SSC+IC contrastive head. */
function chooseHead(heads: readonly RunHead[], o: PredictRunOptions): { head: RunHead; seed: number } {
  const type = o.head === 'ce' ? 'cross_entropy' : 'contrastive';
  const ofType = heads.filter((h) => h.meta.type === type);
  if (ofType.length === 0) throw new RunArtifactError(`run ${o.run} trained no ${o.head} head`, 'run the training stages first, or pick another --run');
  const seeds = [...new Set(ofType.map((h) => Number(h.meta.training.seed)))].sort((a, b) => a - b);
  const seed = o.seed ?? seeds[0];
  const candidates = ofType.filter((h) => Number(h.meta.training.seed) === seed);
  if (candidates.length === 0) throw new RunArtifactError(`run ${o.run} has no ${o.head} head with seed ${seed}`, `its seeds: ${seeds.join(', ')}`);
  if (type === 'contrastive') return { head: candidates.find((h) => String(h.meta.training.captions) === 'sc,ssc,ic') ?? candidates[0], seed };
  const fitting = o.taxonomy
    ? candidates.filter((h) => h.meta.taxonomy === o.taxonomy)
    : [...candidates].sort((a, b) => b.meta.classes.length - a.meta.classes.length);
  if (fitting.length === 0) {
    throw new RunArtifactError(
      `a cross-entropy head predicts only the taxonomy it was trained on; run ${o.run} has ${candidates.map((h) => h.meta.taxonomy).join(', ')}`,
      'pick one of those with --taxonomy, or use --head contrastive for any taxonomy',
    );
  }
  return { head: fitting[0], seed };
}

/** The run's prompt table, plus SC prompts for `tax` embedded now when the run has none for it. */
async function promptsFor(instances: ReturnType<typeof recordedInstances>, o: PredictRunOptions, chosen: RunHead, tax: Taxonomy, model: ClipModel): Promise<PromptTable> {
  const files = chosen.params.prompts as { [k: string]: Json };
  const table = loadPromptTable({
    prompts: keyedPath(instances, o.workspace, files.prompts),
    embeddings: keyedPath(instances, o.workspace, files.embeddings),
    index: keyedPath(instances, o.workspace, files.index),
  }, SCORING_KINDS);
  if (table.rows.some((r) => r.kind === 'sc' && r.taxonomy === tax.id)) return table;
  const built = instances.find((i) => i.kind === 'prompts/build')?.params ?? {};
  const extra = scPrompts(tax, {
    template: typeof built.template === 'string' ? built.template : 'paper',
    binary: typeof built.binary_template === 'string' ? built.binary_template : undefined,
  });
  const embedded = normaliseRows(await model.embedTexts(extra.map((r) => r.text)), model.embedDim);
  const data = new Float32Array(table.texts.data.length + embedded.length);
  data.set(table.texts.data);
  data.set(embedded, table.texts.data.length);
  o.log(`embedded ${extra.length} SC prompts for ${tax.id} ("${extra[0]?.text}", ...)`);
  return { rows: [...table.rows, ...extra], texts: { ...table.texts, data }, file: table.file };
}

const weightsText = (w: WeightsChoice): string => (w === 'final' ? 'final (last epoch trained)' : w === 'best' ? 'best (lowest validation loss)' : `epoch-${w}`);

export async function predictRun(store: Store, images: readonly string[], o: PredictRunOptions): Promise<PredictRunResult> {
  const instances = recordedInstances(store, o.workspace, o.run);
  const { head: chosen, seed } = chooseHead(runHeads(instances), o);
  const weights = o.weights ?? 'final';
  const head = loadHead(headWeightsDir(chosen, weights));
  const taxonomy = o.taxonomy ?? head.meta.taxonomy;
  const recorded = runModel(instances, o.workspace);
  const dtype = CLIP_DTYPES.find((d) => d === recorded.dtype) ?? 'fp32';
  const model = await loadClipModel(o.model ?? recorded.dir, { dtype, towers: o.head === 'contrastive' ? ['vision', 'text'] : ['vision'] });
  try {
    const dim = model.embedDim;
    const x = new Float32Array(images.length * dim);
    const kept: string[] = [];
    await embedImages(model, images.map((path) => ({ path })), {
      onEmbedded: (item, e) => {
        x.set(e, kept.length * dim);
        kept.push(item.path);
      },
      onFailed: (item, error) => o.log(`skipped unreadable image ${item.path}: ${error}`),
    });
    if (kept.length === 0) throw new RunArtifactError('no image could be read', 'check the files (see the lines above)');
    // The training stage's taxonomy_dir, where a user taxonomy of the head (or the target) is.
    const dirs = chosen.params.taxonomy_dir === undefined ? [] : [keyedPath(instances, o.workspace, chosen.params.taxonomy_dir)];
    const prompts = o.head === 'contrastive' ? await promptsFor(instances, o, chosen, loadTaxonomy(taxonomy, { settings: head.meta.taxonomySettings, dirs }), model) : undefined;
    const pred = await predict(head, x.subarray(0, kept.length * dim), kept.length, { prompts, taxonomy, dirs });
    const c = pred.classes.length;
    return {
      head: `${chosen.instanceId} (${o.head} head, ${taxonomy}, seed ${seed}, ${weightsText(weights)} weights: epoch ${head.meta.epoch}) of run ${o.run}`,
      weights: { choice: weights, epoch: head.meta.epoch },
      taxonomy,
      predictions: kept.map((image, r) => ({
        image,
        classes: pred.classes
          .map((cls, j) => ({ class: cls, p: pred.probs[r * c + j] }))
          .sort((a, b) => b.p - a.p)
          .slice(0, o.top || c),
      })),
    };
  } finally {
    await model.release();
  }
}
