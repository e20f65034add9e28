// `ingest/webemo`: WEBEmo from the official release (train25.txt/test25.txt + downloaded images) or the
// {train,validation,test}/<class>/ layout, with a seeded stratified validation split carved from train.
import { readWebemo } from '../../src/data/layouts/webemo.js';
import { COMMON_INGEST_PROPERTIES, INGEST_OUTPUTS, ingestTaxonomy, runIngest, taxonomyFingerprint, type CommonIngestParams } from '../../src/data/ingest-stage.js';
import { defineStage } from '../../src/stage-api.js';

export interface WebemoParams extends CommonIngestParams {
  readonly root: string;
  readonly layout: 'auto' | 'official' | 'folders';
  readonly images?: string;
  readonly val_fraction: number;
  readonly seed: number;
}

export default defineStage<WebemoParams>({
  kind: 'ingest/webemo',
  version: '2',
  description: 'WEBEmo (25 -> 6 -> 2 classes) into a content-hashed manifest with a carved validation split',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['root'],
    properties: {
      root: { type: 'string', format: 'path', description: 'the dataset folder' },
      layout: { enum: ['auto', 'official', 'folders'], default: 'auto' },
      images: { type: 'string', format: 'path', description: 'downloaded images of the official layout (default <root>/images)' },
      val_fraction: { type: 'number', minimum: 0, maximum: 0.5, default: 0.1, description: 'share of each train class moved to val' },
      seed: { type: 'integer', default: 0, description: 'seed of the validation carving' },
      ...COMMON_INGEST_PROPERTIES,
    },
  },
  outputs: INGEST_OUTPUTS,
  async fingerprint(p) {
    return taxonomyFingerprint(ingestTaxonomy('webemo25', p));
  },
  async run(ctx) {
    const p = ctx.params;
    const tax = ingestTaxonomy('webemo25', p);
    const layout = readWebemo({ root: p.root, layout: p.layout, images: p.images, valFraction: p.val_fraction, seed: p.seed, taxonomy: tax });
    await runIngest(ctx, layout, 'webemo', p.root, tax);
  },
});
