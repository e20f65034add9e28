// `ingest/folder-per-class`: FI, Panda's Emotion-6, EmotionROI, IAPS (folders or ratings file) and any
// `<root>/<class>/` dataset with a user taxonomy (`layout: plain`).
import { LAYOUT_ALIASES, LAYOUT_TAXONOMY, readFolderDataset, type FolderLayout } from '../../src/data/layouts/folders.js';
import { COMMON_INGEST_PROPERTIES, INGEST_OUTPUTS, ingestTaxonomy, runIngest, taxonomyFingerprint, type CommonIngestParams } from '../../src/data/ingest-stage.js';
import { defineStage, StageError } from '../../src/stage-api.js';

export interface FolderPerClassParams extends CommonIngestParams {
  readonly root: string;
  readonly layout: FolderLayout;
  readonly taxonomy?: string;
  readonly dataset?: string;
  readonly aliases: Readonly<Record<string, string>>;
  readonly split_files?: { readonly train?: string; readonly val?: string; readonly test?: string };
  readonly unknown_class: 'fail' | 'skip';
  readonly ratings?: string;
  readonly ratings_id_column?: string;
  readonly ratings_valence_column?: string;
  readonly valence_threshold: number;
}

const path = { type: 'string', format: 'path' } as const;

function taxonomyId(p: FolderPerClassParams): string {
  if (p.taxonomy) return p.taxonomy;
  if (p.layout === 'plain') throw new StageError('ingest/folder-per-class: layout plain needs a taxonomy', 'Set taxonomy: <id> (a built-in id or a file in the taxonomies directory).');
  return LAYOUT_TAXONOMY[p.layout];
}

export default defineStage<FolderPerClassParams>({
  kind: 'ingest/folder-per-class',
  version: '1',
  description: 'A folder-per-class dataset (FI, Emotion-6, EmotionROI, IAPS, or plain) into a content-hashed manifest',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['root', 'layout'],
    properties: {
      root: { ...path, description: 'the dataset folder' },
      layout: { enum: ['fi', 'emotion6', 'emotionroi', 'iaps', 'plain'] },
      taxonomy: { type: 'string', description: 'finest taxonomy (default per layout: fi8, emotion6_6, emotionroi6, iaps2)' },
      dataset: { type: 'string', description: 'dataset id in the summary (default: the taxonomy\'s dataset)' },
      aliases: { type: 'object', additionalProperties: { type: 'string' }, default: {}, description: 'folder name -> class id' },
      split_files: {
        type: 'object',
        additionalProperties: false,
        properties: { train: path, val: path, test: path },
        description: 'split lists (relative paths, one per line); unlisted images are left out',
      },
      unknown_class: { enum: ['fail', 'skip'], default: 'fail' },
      ratings: { ...path, description: 'IAPS: ratings table with picture id and mean valence' },
      ratings_id_column: { type: 'string' },
      ratings_valence_column: { type: 'string' },
      valence_threshold: { type: 'number', default: 5, description: 'IAPS ratings: above positive, below negative, equal left out' },
      ...COMMON_INGEST_PROPERTIES,
    },
  },
  outputs: INGEST_OUTPUTS,
  async fingerprint(p) {
    return taxonomyFingerprint(ingestTaxonomy(taxonomyId(p), p));
  },
  async run(ctx) {
    const p = ctx.params;
    const tax = ingestTaxonomy(taxonomyId(p), p);
    const layout = readFolderDataset({
      root: p.root,
      layout: p.layout,
      taxonomy: tax,
      aliases: { ...LAYOUT_ALIASES[p.layout], ...p.aliases },
      splitFiles: p.split_files,
      unknownClass: p.unknown_class,
      ratings: p.ratings,
      ratingsIdColumn: p.ratings_id_column,
      ratingsValenceColumn: p.ratings_valence_column,
      valenceThreshold: p.valence_threshold,
    });
    await runIngest(ctx, layout, p.dataset ?? tax.dataset, p.root, tax);
  },
});
