// What the three ingest stage kinds share: common params (taxonomy settings, image checks), the
// fingerprint of the taxonomy files they read, and the run step that turns a layout into outputs. The
// `taxonomy_dir` param and the fingerprint are shared with the training and evaluation stages too.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { JsonSchema, StageContext } from '../stage-api.js';
import { buildManifest, writeManifest, type ImageCheck, type LayoutResult } from './manifest.js';
import { loadTaxonomy, type Taxonomy } from './taxonomy.js';

export interface CommonIngestParams {
  /** WEBEmo's level-2 `confusion`: `sadness` (default) or its `own` class. Ignored by other taxonomies. */
  readonly confusion: 'sadness' | 'own';
  /** A directory of extra taxonomy files (searched before the built-in ones). */
  readonly taxonomy_dir?: string;
  readonly check_images: ImageCheck;
  readonly unreadable: 'skip' | 'fail';
}

/** The `taxonomy_dir` param of every stage that loads taxonomies (a path param: its files are in the key). */
export const TAXONOMY_DIR_PROPERTY: JsonSchema = {
  type: 'string',
  format: 'path',
  description: 'directory of extra <id>.yaml taxonomy files, searched before PIPE_TAXONOMY_PATH and the built-in ones',
};

/** The extra taxonomy directories a stage's `taxonomy_dir` names (none when unset). */
export function taxonomyDirsOf(p: { readonly taxonomy_dir?: string }): string[] {
  return p.taxonomy_dir ? [p.taxonomy_dir] : [];
}

export const COMMON_INGEST_PROPERTIES: Readonly<Record<string, JsonSchema>> = {
  confusion: { enum: ['sadness', 'own'], default: 'sadness', description: "WEBEmo's level-2 confusion label: mapped to sadness, or its own class" },
  taxonomy_dir: TAXONOMY_DIR_PROPERTY,
  check_images: { enum: ['none', 'header', 'decode'], default: 'header', description: 'how images are checked for readability' },
  unreadable: { enum: ['skip', 'fail'], default: 'skip', description: 'unreadable images: leave out and report, or fail' },
};

export const INGEST_OUTPUTS = {
  manifest: { path: 'manifest.jsonl', description: 'one ManifestRow per image: id, path, sha256, split, labels per taxonomy level' },
  summary: { path: 'summary.json', description: 'counts per class and split, unreadable/missing/excluded files, duplicates, taxonomy settings' },
} as const;

/** A taxonomy with a stage's settings and extra taxonomy directory. */
export function ingestTaxonomy(id: string, p: Pick<CommonIngestParams, 'confusion' | 'taxonomy_dir'>): Taxonomy {
  return loadTaxonomy(id, { confusion: p.confusion, dirs: taxonomyDirsOf(p) });
}

/** Content hashes of the taxonomy files a stage reads: editing a built-in taxonomy re-runs the stage. */
export function taxonomyFingerprint(tax: Taxonomy): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of [tax, ...tax.ancestors]) out[`taxonomy:${t.id}`] = createHash('sha256').update(readFileSync(t.file)).digest('hex');
  return out;
}

/** taxonomyFingerprint of every taxonomy the evaluation sets of a training or evaluation stage name. */
export function evalSetsFingerprint(
  sets: readonly { readonly taxonomies: readonly string[] }[],
  p: Pick<CommonIngestParams, 'confusion' | 'taxonomy_dir'>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const set of sets) for (const t of set.taxonomies) Object.assign(out, taxonomyFingerprint(ingestTaxonomy(t, p)));
  return out;
}

export async function runIngest(ctx: StageContext<CommonIngestParams>, layout: LayoutResult, dataset: string, root: string, tax: Taxonomy): Promise<void> {
  ctx.log(`${dataset}: layout ${layout.layout}, ${layout.items.length} images found, taxonomy ${tax.levels.join(' -> ')} ${JSON.stringify(tax.settings)}`);
  const manifest = await buildManifest(layout, { dataset, root, taxonomy: tax, check: ctx.params.check_images, unreadable: ctx.params.unreadable }, ctx);
  writeManifest(manifest, ctx.output('manifest'), ctx.output('summary'));
  const s = manifest.summary;
  ctx.log(`${s.images} images (train ${s.splits.train}, val ${s.splits.val}, test ${s.splits.test}); unreadable ${s.unreadable.length}, missing ${s.missing.length}, excluded ${s.excluded.length}, cross-split duplicates ${s.duplicates_across_splits.length}`);
}
