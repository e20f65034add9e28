// `ingest/manifest`: any dataset listed in a CSV/TSV/JSONL table (path, label, split).
import { readTableDataset, tableImagesSignature } from '../../src/data/layouts/table.js';
import { COMMON_INGEST_PROPERTIES, INGEST_OUTPUTS, ingestTaxonomy, runIngest, taxonomyFingerprint, type CommonIngestParams } from '../../src/data/ingest-stage.js';
import type { Split } from '../../src/data/splits.js';
import { defineStage } from '../../src/stage-api.js';

export interface ManifestParams extends CommonIngestParams {
  readonly file: string;
  readonly root?: string;
  readonly taxonomy: string;
  readonly dataset?: string;
  readonly path_column?: string;
  readonly label_column?: string;
  readonly split_column?: string;
  readonly default_split: Split;
  readonly aliases: Readonly<Record<string, string>>;
}

export default defineStage<ManifestParams>({
  kind: 'ingest/manifest',
  version: '1',
  description: 'A dataset listed in a CSV/TSV/JSONL table (path, label, split) into a content-hashed manifest',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['file', 'taxonomy'],
    properties: {
      file: { type: 'string', format: 'path', description: 'the table: header row (CSV/TSV) or JSON objects per line' },
      root: { type: 'string', format: 'path', description: 'base of relative image paths (default: the table\'s folder)' },
      taxonomy: { type: 'string', description: 'taxonomy of the labels (its finest level)' },
      dataset: { type: 'string' },
      path_column: { type: 'string' },
      label_column: { type: 'string' },
      split_column: { type: 'string' },
      default_split: { enum: ['train', 'val', 'test'], default: 'test', description: 'split of rows without one' },
      aliases: { type: 'object', additionalProperties: { type: 'string' }, default: {}, description: 'label -> class id' },
      ...COMMON_INGEST_PROPERTIES,
    },
  },
  outputs: INGEST_OUTPUTS,
  async fingerprint(p) {
    return { ...taxonomyFingerprint(ingestTaxonomy(p.taxonomy, p)), images: tableImagesSignature(p.file, p.root, p.path_column) };
  },
  async run(ctx) {
    const p = ctx.params;
    const tax = ingestTaxonomy(p.taxonomy, p);
    const layout = readTableDataset({
      file: p.file,
      root: p.root,
      taxonomy: tax,
      pathColumn: p.path_column,
      labelColumn: p.label_column,
      splitColumn: p.split_column,
      defaultSplit: p.default_split,
      aliases: p.aliases,
    });
    await runIngest(ctx, layout, p.dataset ?? tax.dataset, p.root ?? p.file, tax);
  },
});
