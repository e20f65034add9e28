// `demo/synthetic-data`: small synthetic stand-ins of WEBEmo, FI, Emotion-6, EmotionROI and IAPS in their
// real on-disk layouts, plus captions and the synonym table, so the demo pipeline makes its own data.
import { dirname } from 'node:path';
import { DEFAULT_SYNTHETIC_SIZES, generateSyntheticData } from '../../src/data/synthetic.js';
import { defineStage } from '../../src/stage-api.js';

export interface SyntheticDataParams {
  readonly seed: number;
  readonly sizes: { readonly webemo: number; readonly fi: number; readonly emotion6: number; readonly emotionroi: number; readonly iaps: number };
  readonly webemo_layout: 'official' | 'folders';
  readonly missing_url_fraction: number;
}

const size = (n: number) => ({ type: 'integer', minimum: 1, maximum: 100000, default: n }) as const;

export default defineStage<SyntheticDataParams>({
  kind: 'demo/synthetic-data',
  version: '2',
  description: 'Synthetic (obviously fake) images in the real layouts of the five datasets, with captions and synonyms',
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      seed: { type: 'integer', default: 0 },
      sizes: {
        type: 'object',
        additionalProperties: false,
        default: {},
        properties: {
          webemo: size(DEFAULT_SYNTHETIC_SIZES.webemo),
          fi: size(DEFAULT_SYNTHETIC_SIZES.fi),
          emotion6: size(DEFAULT_SYNTHETIC_SIZES.emotion6),
          emotionroi: size(DEFAULT_SYNTHETIC_SIZES.emotionroi),
          iaps: size(DEFAULT_SYNTHETIC_SIZES.iaps),
        },
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
  resources: () => ({ cpu: 1, memoryMb: 300 }),
  async run(ctx) {
    const p = ctx.params;
    const t0 = Date.now();
    const out = dirname(ctx.output('webemo'));
    const r = await generateSyntheticData({ out, seed: p.seed, sizes: p.sizes, webemoLayout: p.webemo_layout, missingUrlFraction: p.missing_url_fraction });
    ctx.log(`synthetic data (seed ${p.seed}): ${JSON.stringify(r.images)} images, ${r.missingUrls} dead WEBEmo URLs, ${Date.now() - t0} ms`);
  },
});
