// Built-in stage kinds. A kind's name is its module path under `stages/`, so `uses: ingest/webemo`
// lives in `stages/ingest/webemo.ts`. Modules load lazily: a no-op `pipe run` imports only what it
// needs to compute cache keys, and heavy libraries (onnxruntime, sharp) load inside `run`.
import type { StageKind } from './stage-api.js';

export type StageModule = { readonly default: StageKind<unknown> };

export const STAGE_KINDS: Readonly<Record<string, () => Promise<StageModule>>> = {
  'clip/embed-images': () => import('../stages/clip/embed-images.js'),
  'clip/embed-texts': () => import('../stages/clip/embed-texts.js'),
  'clip/tiny-model': () => import('../stages/clip/tiny-model.js'),
  'report/tables': () => import('../stages/report/tables.js'),
  'train/cross-entropy': () => import('../stages/train/cross-entropy.js'),
  'train/contrastive': () => import('../stages/train/contrastive.js'),
  'eval/zero-shot': () => import('../stages/eval/zero-shot.js'),
  'eval/baselines': () => import('../stages/eval/baselines.js'),
  'ingest/webemo': () => import('../stages/ingest/webemo.js'),
  'ingest/folder-per-class': () => import('../stages/ingest/folder-per-class.js'),
  'ingest/manifest': () => import('../stages/ingest/manifest.js'),
  'captions/import': () => import('../stages/captions/import.js'),
  'synonyms/table': () => import('../stages/synonyms/table.js'),
  'prompts/build': () => import('../stages/prompts/build.js'),
  'demo/synthetic-data': () => import('../stages/demo/synthetic-data.js'),
};
