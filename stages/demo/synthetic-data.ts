// `demo/synthetic-data`: synthetic stand-ins of WEBEmo, FI, Emotion-6, EmotionROI and IAPS in their real
// on-disk layouts, plus captions and the synonym table, so the demo pipeline makes its own data; at
// `scale: paper` the five datasets at the paper's sizes (the full-scale rehearsal, pipelines/rehearsal.yaml).
import { dirname } from 'node:path';
import { DEFAULT_SYNTHETIC_SIZES, generateSyntheticData, PAPER_SIZES, syntheticSizes, type SyntheticSizes } from '../../src/data/synthetic.js';
import { defineStage } from '../../src/stage-api.js';

export interface SyntheticDataParams {
  readonly seed: number;
  readonly scale: 'demo' | 'paper';
  readonly sizes: Partial<SyntheticSizes>;
  readonly distinct_per_look?: number;
  readonly webemo_layout: 'official' | 'folders';
  readonly missing_url_fraction: number;
}

/** At paper scale, images share this many pictures per class look unless `distinct_per_look` says otherwise. */
const PAPER_DISTINCT_PER_LOOK = 64;

// No defaults here: a size left out comes from the scale (run below), so `sizes` overrides a scale.
const size = { type: 'integer', minimum: 1, maximum: 1000000 } as const;

export default defineStage<SyntheticDataParams>({
  kind: 'demo/synthetic-data',
  version: '2',
  description: 'Synthetic (obviously fake) images in the real layouts of the five datasets, with captions and synonyms',
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      seed: { type: 'integer', default: 0 },
      scale: {
        enum: ['demo', 'paper'],
        default: 'demo',
        description: `dataset sizes: demo ${JSON.stringify(DEFAULT_SYNTHETIC_SIZES)}, paper ${JSON.stringify(PAPER_SIZES)} (WEBEmo 213,952 train + 53,489 test)`,
      },
      sizes: {
        type: 'object',
        additionalProperties: false,
        default: {},
        description: "per-dataset image counts overriding the scale's",
        properties: { webemo: size, fi: size, emotion6: size, emotionroi: size, iaps: size },
      },
      distinct_per_look: {
        type: 'integer',
        minimum: 1,
        description: `at most this many distinct pictures per dataset and class look, the other images copies with their own name in a JPEG comment (own content hash); default: all distinct at demo scale, ${PAPER_DISTINCT_PER_LOOK} at paper scale`,
      },
      webemo_layout: { enum: ['official', 'folders'], default: 'official', description: 'train25.txt/test25.txt + images/, or {train,test}/<class>/' },
      missing_url_fraction: { type: 'number', minimum: 0, maximum: 0.5, default: 0.01, description: 'WEBEmo URLs listed without an image' },
    },
  },
  outputs: {
    webemo: { path: 'webemo', description: 'WEBEmo stand-in (ingest/webemo root)' },
    fi: { path: 'fi', description: 'FI stand-in: emotion_dataset/<class>/' },
    emotion6: { path: 'emotion6', description: "Emotion-6 stand-in: images/<primary>/<secondary>/ (with the 'digust' folder)" },
    emotionroi: { path: 'emotionroi', description: 'EmotionROI stand-in: images/<class>/ + training_testing_split/' },
    iaps: { path: 'iaps', description: 'IAPS stand-in: <label>/<id>.jpg + ratings.txt' },
    captions: { path: 'captions/webemo.jsonl', description: 'captions of the WEBEmo images, keyed by path' },
    synonyms: { path: 'synonyms/webemo.yaml', description: 'the hand-written WEBEmo synonym table' },
  },
  resources: (p) => ({ cpu: 1, memoryMb: p.scale === 'paper' ? 1000 : 300 }),
  async run(ctx) {
    const p = ctx.params;
    const t0 = Date.now();
    const out = dirname(ctx.output('webemo'));
    const paper = p.scale === 'paper';
    const r = await generateSyntheticData({
      out,
      seed: p.seed,
      sizes: syntheticSizes(p.scale, p.sizes),
      webemoLayout: p.webemo_layout,
      missingUrlFraction: p.missing_url_fraction,
      distinctPerLook: p.distinct_per_look ?? (paper ? PAPER_DISTINCT_PER_LOOK : undefined),
      onProgress: (done, total) => ctx.progress({ done, total, unit: 'images', message: 'writing' }),
    });
    ctx.log(`synthetic data (seed ${p.seed}, ${p.scale} scale): ${JSON.stringify(r.images)} images, ${r.missingUrls} dead WEBEmo URLs, ${Date.now() - t0} ms`);
  },
});
