// `captions/import`: image captions (OFA's or any captioner's) from CSV/JSONL, matched to a manifest,
// normalised into IC prompt text, with a coverage report and a missing-caption policy.
import { writeFileSync } from 'node:fs';
import type { ManifestRow } from '../../src/formats.js';
import { DEFAULT_IC_TEMPLATE, importCaptions, type MissingCaptionPolicy } from '../../src/data/captions.js';
import { readJsonl, writeJsonl } from '../../src/io/jsonl.js';
import { defineStage } from '../../src/stage-api.js';

export interface CaptionsParams {
  readonly manifest: string;
  readonly file: string;
  readonly key_column?: string;
  readonly caption_column?: string;
  readonly template: string;
  readonly missing: MissingCaptionPolicy;
}

export default defineStage<CaptionsParams>({
  kind: 'captions/import',
  version: '2',
  description: 'Image captions from CSV/JSONL into IC prompt form, matched to a manifest, with a coverage report',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['manifest', 'file'],
    properties: {
      manifest: { type: 'string', format: 'path', description: 'manifest.jsonl of an ingest stage' },
      file: { type: 'string', format: 'path', description: 'captions: CSV/TSV with a header row, or JSONL' },
      key_column: { type: 'string', description: 'column with the manifest id or image path (default: id, image_id, path, image, file, filename)' },
      caption_column: { type: 'string', description: 'default: caption, text, captions' },
      template: { type: 'string', default: DEFAULT_IC_TEMPLATE, description: 'IC prompt form, with {caption}' },
      missing: { enum: ['fail', 'skip', 'empty'], default: 'fail', description: 'images without a caption: fail, leave out, or an empty caption' },
    },
  },
  outputs: {
    captions: { path: 'captions.jsonl', description: '{ id, caption, text } per captioned image' },
    coverage: { path: 'coverage.json', description: 'captioned/missing/extra/ambiguous/duplicate counts and ids' },
  },
  async run(ctx) {
    const p = ctx.params;
    const manifest = readJsonl<ManifestRow>(p.manifest);
    const { rows, coverage } = importCaptions(p.file, manifest, { keyColumn: p.key_column, captionColumn: p.caption_column, template: p.template, missing: p.missing });
    writeJsonl(ctx.output('captions'), rows);
    writeFileSync(ctx.output('coverage'), JSON.stringify(coverage, null, 2) + '\n');
    ctx.log(`${coverage.captioned}/${coverage.images} images captioned; missing ${coverage.missing} (${p.missing}), extra ${coverage.extra}, ambiguous ${coverage.ambiguous_keys.length}, duplicates ${coverage.duplicate_ids.length}`);
  },
});
