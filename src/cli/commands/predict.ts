// `pipe predict IMAGE|FOLDER --run RUN`: the paper's Fig. 3 view. Each image's class distribution, sorted,
// from a head the run trained: CE softmax probabilities, or for a contrastive head softmax(cos / τ) over
// one prompt per class of any taxonomy (prompts the run did not embed are embedded here, same template).
import { statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { UsageError } from '../../engine/index.js';
import { EXIT_FAILED, EXIT_OK, WORKSPACE_OPTION, guard, parse, workspaceOf } from '../common.js';
import type { PromptRow } from '../../formats.js';
import type { Json } from '../../stage-api.js';

export const summary = "class distribution of images from a run's trained head (the paper's Fig. 3)";

const USAGE = `usage: pipe predict IMAGE|FOLDER [--run RUN|latest] [--head ce|contrastive] [--taxonomy NAME] [--top K]
                    [--seed N] [--model DIR] [--json] [--workspace DIR]

--head ce (default): the run's cross-entropy head for --taxonomy (default: the finest it trained).
--head contrastive: the run's full contrastive head (SC+SSC+IC), scored on the SC prompts of any
  taxonomy (default webemo25). --seed picks the training seed (default: the lowest). --model overrides
  the CLIP model folder the run embedded its images with. --top K classes per image (default 5).`;

const OPTIONS = {
  ...WORKSPACE_OPTION,
  run: { type: 'string', short: 'r' },
  head: { type: 'string' },
  taxonomy: { type: 'string', short: 't' },
  top: { type: 'string', short: 'k' },
  seed: { type: 'string' },
  model: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The finest first, so the default CE head is the 25-class one. */
const BY_SIZE = (a: { meta: { classes: readonly string[] } }, b: { meta: { classes: readonly string[] } }): number =>
  b.meta.classes.length - a.meta.classes.length;

function positiveInt(v: string | undefined, flag: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} expects a whole number, got "${v}"`, USAGE);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  return guard(async () => {
    const { values, positionals } = parse(argv, OPTIONS, USAGE);
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return EXIT_OK;
    }
    if (positionals.length !== 1) throw new UsageError('expected one image file or folder', USAGE);
    const headType = values.head ?? 'ce';
    if (headType !== 'ce' && headType !== 'contrastive') throw new UsageError(`--head must be ce or contrastive, got "${headType}"`, USAGE);
    const top = positiveInt(values.top, '--top', 5);
    const workspace = workspaceOf(values);

    // Everything heavy (store, onnxruntime, sharp, taxonomies) loads only once the arguments are valid.
    const { openStore } = await import('../../store/index.js');
    const { recordedInstances, keyedPath, runHeads, runModel, RunArtifactError } = await import('../../report/run-artifacts.js');
    const { listImages, isImageFile } = await import('../../data/files.js');
    const { loadTaxonomy } = await import('../../data/taxonomy.js');
    const { scPrompts } = await import('../../data/prompts.js');
    const { loadPromptTable } = await import('../../eval/prompts.js');
    const { loadHead, predict } = await import('../../eval/predict.js');
    const { loadClipModel, CLIP_DTYPES } = await import('../../clip/model.js');
    const { embedImages } = await import('../../clip/embed.js');
    const { normaliseRows } = await import('../../train/data.js');
    const { StageError } = await import('../../stage-api.js');

    const target = positionals[0];
    let images: string[];
    try {
      images = statSync(target).isDirectory() ? listImages(target).map((f) => join(target, f)) : [target];
    } catch {
      throw new UsageError(`${target}: no such image file or folder`);
    }
    if (images.length === 0 || (images.length === 1 && images[0] === target && !isImageFile(target))) {
      throw new UsageError(`${target}: no image files (jpg, png, webp, ...) found`);
    }

    const store = openStore(join(workspace, 'runs', 'pipe.db'));
    try {
      const runId = values.run === undefined || values.run === 'latest' ? store.listRuns(1)[0]?.id : Number(values.run);
      if (runId === undefined || !Number.isInteger(runId)) throw new UsageError(values.run ? `--run expects a run number or "latest", got "${values.run}"` : `no runs recorded in ${workspace}`, USAGE);
      const instances = recordedInstances(store, workspace, runId);
      const type = headType === 'ce' ? 'cross_entropy' : 'contrastive';
      let heads = runHeads(instances).filter((h) => h.meta.type === type);
      if (heads.length === 0) throw new UsageError(`run ${runId} trained no ${headType} head`, 'run the training stages first, or pick another --run');
      const seeds = [...new Set(heads.map((h) => Number(h.meta.training.seed)))].sort((a, b) => a - b);
      const seed = values.seed === undefined ? seeds[0] : positiveInt(values.seed, '--seed', 0);
      heads = heads.filter((h) => Number(h.meta.training.seed) === seed);
      if (heads.length === 0) throw new UsageError(`run ${runId} has no ${headType} head with seed ${seed} (seeds: ${seeds.join(', ')})`);

      let chosen;
      if (type === 'cross_entropy') {
        const own = values.taxonomy ? heads.filter((h) => h.meta.taxonomy === values.taxonomy) : heads.sort(BY_SIZE);
        if (own.length === 0) {
          throw new UsageError(
            `a cross-entropy head predicts only the taxonomy it was trained on; run ${runId} has ${heads.map((h) => h.meta.taxonomy).join(', ')}`,
            'pick one of those with --taxonomy, or use --head contrastive for any taxonomy',
          );
        }
        chosen = own[0];
      } else {
        const full = heads.find((h) => String(h.meta.training.captions) === 'sc,ssc,ic');
        chosen = full ?? heads[0];
      }
      const head = loadHead(chosen.dir);
      const taxonomyId = values.taxonomy ?? head.meta.taxonomy;

      const recordedModel = runModel(instances, workspace);
      const modelDir = values.model ?? recordedModel.dir;
      const dtype = CLIP_DTYPES.find((d) => d === recordedModel.dtype) ?? 'fp32';
      const model = await loadClipModel(modelDir, { dtype, towers: type === 'contrastive' ? ['vision', 'text'] : ['vision'] });
      try {
        const dim = model.embedDim;
        const x = new Float32Array(images.length * dim);
        const kept: string[] = [];
        const failed: string[] = [];
        await embedImages(model, images.map((path) => ({ path })), {
          onEmbedded: (item, e) => {
            x.set(e, kept.length * dim);
            kept.push(item.path);
          },
          onFailed: (item, error) => failed.push(`${item.path}: ${error}`),
        });
        for (const f of failed) process.stderr.write(`pipe predict: skipped unreadable image ${f}\n`);
        if (kept.length === 0) return EXIT_FAILED;

        let prompts;
        if (type === 'contrastive') {
          const files = chosen.params.prompts as { [k: string]: Json };
          const table = loadPromptTable({
            prompts: keyedPath(instances, workspace, files.prompts),
            embeddings: keyedPath(instances, workspace, files.embeddings),
            index: keyedPath(instances, workspace, files.index),
          });
          const tax = loadTaxonomy(taxonomyId, { settings: head.meta.taxonomySettings });
          // A taxonomy the run did not build prompts for: its SC prompts, embedded now with the same model.
          if (!table.rows.some((r) => r.kind === 'sc' && r.taxonomy === tax.id)) {
            const built = instances.find((i) => i.kind === 'prompts/build')?.params ?? {};
            const template = typeof built.template === 'string' ? built.template : 'paper';
            const binary = typeof built.binary_template === 'string' ? built.binary_template : undefined;
            const extra: PromptRow[] = scPrompts(tax, { template, binary });
            const embedded = normaliseRows(await model.embedTexts(extra.map((r) => r.text)), dim);
            const data = new Float32Array(table.texts.data.length + embedded.length);
            data.set(table.texts.data);
            data.set(embedded, table.texts.data.length);
            prompts = { rows: [...table.rows, ...extra], texts: { ...table.texts, data }, file: table.file };
            process.stderr.write(`pipe predict: embedded ${extra.length} SC prompts for ${tax.id} ("${extra[0]?.text}", ...)\n`);
          } else {
            prompts = table;
          }
        }
        const pred = await predict(head, x.subarray(0, kept.length * dim), kept.length, { prompts, taxonomy: taxonomyId });
        const c = pred.classes.length;
        const results = kept.map((path, r) => ({
          image: relative(process.cwd(), path) || path,
          classes: pred.classes
            .map((cls, j) => ({ class: cls, p: pred.probs[r * c + j] }))
            .sort((a, b) => b.p - a.p)
            .slice(0, top || c),
        }));
        const what = `${chosen.instanceId} (${headType} head, ${taxonomyId}, seed ${seed}, epoch ${head.meta.epoch}) of run ${runId}`;
        if (values.json) {
          process.stdout.write(`${JSON.stringify({ head: what, taxonomy: taxonomyId, predictions: results }, null, 2)}\n`);
        } else {
          process.stdout.write(`# ${what}\n`);
          for (const res of results) {
            process.stdout.write(`\n${res.image}\n`);
            const width = Math.max(...res.classes.map((k) => k.class.length));
            for (const k of res.classes) process.stdout.write(`  ${k.class.padEnd(width)}  ${(k.p * 100).toFixed(1).padStart(5)}%  ${'#'.repeat(Math.round(k.p * 40))}\n`);
          }
        }
        return EXIT_OK;
      } finally {
        await model.release();
      }
    } catch (e) {
      if (e instanceof RunArtifactError || e instanceof StageError) {
        process.stderr.write(`pipe predict: ${e.message}\n${e.hint ? `  hint: ${e.hint}\n` : ''}`);
        return EXIT_FAILED;
      }
      throw e;
    } finally {
      store.close();
    }
  });
}
