// `pipe predict IMAGE|FOLDER --run RUN`: the paper's Fig. 3 view. Each image's class distribution, sorted,
// from a head the run trained: CE softmax probabilities, or for a contrastive head softmax(cos / τ) over
// one prompt per class of any taxonomy (prompts the run did not embed are embedded here, same template).
import { statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { UsageError } from '../../engine/errors.js';
import { EXIT_OK, WORKSPACE_OPTION, failed, guard, parse, withRecordedRun, workspaceOf } from '../common.js';

const USAGE = `usage: pipe predict IMAGE|FOLDER [--run RUN|latest] [--head ce|contrastive] [--taxonomy NAME] [--top K]
                    [--weights final|best|EPOCH] [--seed N] [--model DIR] [--json] [--workspace DIR]

--head ce (default): the run's cross-entropy head for --taxonomy (default: the finest it trained).
--head contrastive: the run's full contrastive head (SC+SSC+IC), scored as the paper does (the sentiment and
  synonym prompts of its training taxonomy, mapped up the hierarchy; another dataset's taxonomy by its
  own prompts). --weights: final (default, the last epoch trained, as the paper's tables), best (lowest
  validation loss) or an epoch number; the output names them. --seed picks the training seed (default: the lowest). --model overrides
  the CLIP model folder the run embedded its images with. --top K classes per image (default 5).`;

const OPTIONS = {
  ...WORKSPACE_OPTION,
  run: { type: 'string', short: 'r' },
  head: { type: 'string' },
  taxonomy: { type: 'string', short: 't' },
  top: { type: 'string', short: 'k' },
  seed: { type: 'string' },
  weights: { type: 'string', short: 'w' },
  model: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** Image paths as the user would type them: relative to the current directory. */
const shown = (path: string): string => relative(process.cwd(), path) || path;

function wholeNumber(v: string | undefined, flag: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} expects a whole number, got "${v}"`, USAGE);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  return guard(async () => {
    const { values, positionals } = parse(argv, OPTIONS, USAGE);
    if (positionals.length !== 1) throw new UsageError('expected one image file or folder', USAGE);
    const headType = values.head ?? 'ce';
    if (headType !== 'ce' && headType !== 'contrastive') throw new UsageError(`--head must be ce or contrastive, got "${headType}"`, USAGE);
    const top = wholeNumber(values.top, '--top', 5);
    const weights = values.weights === undefined || values.weights === 'final' || values.weights === 'best' ? (values.weights ?? 'final') : wholeNumber(values.weights, '--weights', 0);
    if (weights === 0) throw new UsageError('--weights expects final, best or an epoch number (1, 2, ...), got "0"', USAGE);
    const workspace = workspaceOf(values);

    // The store, onnxruntime and sharp load only once the arguments are valid (and never for `pipe --help`).
    const { listImages, isImageFile } = await import('../../data/files.js');
    const { predictRun } = await import('../../report/predict-run.js');
    const { RunArtifactError } = await import('../../report/run-artifacts.js');
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

    return withRecordedRun(workspace, values.run, '--run', USAGE, async (store, run) => {
      try {
        const result = await predictRun(store, images, {
          workspace,
          run,
          head: headType,
          taxonomy: values.taxonomy,
          weights,
          seed: values.seed === undefined ? undefined : wholeNumber(values.seed, '--seed', 0),
          model: values.model,
          top,
          log: (line) => process.stderr.write(`pipe predict: ${line}\n`),
        });
        if (values.json) {
          process.stdout.write(`${JSON.stringify({ ...result, predictions: result.predictions.map((p) => ({ ...p, image: shown(p.image) })) }, null, 2)}\n`);
        } else {
          process.stdout.write(`# ${result.head}\n`);
          for (const p of result.predictions) {
            process.stdout.write(`\n${shown(p.image)}\n`);
            const width = Math.max(...p.classes.map((k) => k.class.length));
            for (const k of p.classes) process.stdout.write(`  ${k.class.padEnd(width)}  ${(k.p * 100).toFixed(1).padStart(5)}%  ${'#'.repeat(Math.round(k.p * 40))}\n`);
          }
        }
        return EXIT_OK;
      } catch (e) {
        // What the run lacks is a usage problem (exit 2); a model that cannot load is a failure (exit 1).
        if (e instanceof RunArtifactError) throw new UsageError(e.message, e.hint);
        if (e instanceof StageError) return failed('predict', e);
        throw e;
      }
    });
  });
}
