// `prompts/build`: SC prompts for every class of the requested taxonomies, SSC prompts from a synonym
// table, IC prompts from imported captions; one prompts.jsonl shared by training and zero-shot evaluation.
import { readFileSync } from 'node:fs';
import type { PromptRow } from '../../src/formats.js';
import type { CaptionRow } from '../../src/data/captions.js';
import { ingestTaxonomy, taxonomyFingerprint } from '../../src/data/ingest-stage.js';
import { icPrompts, resolveTemplate, scPrompts, sscPrompts, TEMPLATES } from '../../src/data/prompts.js';
import type { SynonymTable } from '../../src/data/synonyms.js';
import { readJsonl, writeJsonl } from '../../src/io/jsonl.js';
import { defineStage } from '../../src/stage-api.js';

export interface PromptsParams {
  readonly taxonomies: readonly string[];
  readonly confusion: 'sadness' | 'own';
  readonly taxonomy_dir?: string;
  readonly template: string;
  readonly binary_template: string;
  readonly synonyms?: string;
  readonly captions?: string;
}

export default defineStage<PromptsParams>({
  kind: 'prompts/build',
  version: '2',
  description: 'SC, SSC and IC text prompts from templates, synonyms and captions',
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      taxonomies: { type: 'array', items: { type: 'string' }, minItems: 1, default: ['webemo25', 'webemo6', 'webemo2'], description: 'SC prompts for every class of these' },
      confusion: { enum: ['sadness', 'own'], default: 'sadness' },
      taxonomy_dir: { type: 'string', format: 'path', description: 'directory of extra taxonomy files' },
      template: { type: 'string', default: 'paper', description: `a name (${Object.keys(TEMPLATES).join(', ')}) or a text with {class}; default the paper's "a photo that seems to express {class}"` },
      binary_template: { type: 'string', default: 'binary', description: 'template for positive/negative taxonomies; default the authors\' notebook form "a photo that evokes a {class} feeling" (the paper gives none)' },
      synonyms: { type: 'string', format: 'path', description: 'synonyms.json of synonyms/table: SSC prompts' },
      captions: { type: 'string', format: 'path', description: 'captions.jsonl of captions/import: IC prompts' },
    },
  },
  outputs: { prompts: { path: 'prompts.jsonl', description: 'PromptRow per line: sc, ssc, ic' } },
  async fingerprint(p) {
    return Object.assign({}, ...p.taxonomies.map((t) => taxonomyFingerprint(ingestTaxonomy(t, p))));
  },
  async run(ctx) {
    const p = ctx.params;
    const templates = { template: resolveTemplate(p.template), binary: resolveTemplate(p.binary_template) };
    const rows: PromptRow[] = [];
    for (const id of p.taxonomies) rows.push(...scPrompts(ingestTaxonomy(id, p), templates));
    if (p.synonyms) {
      const table = JSON.parse(readFileSync(p.synonyms, 'utf8')) as SynonymTable;
      rows.push(...sscPrompts(ingestTaxonomy(table.taxonomy, p), table, templates));
    }
    // One IC prompt per captioned image, 267k at the paper's size: more than push(...) may take as arguments.
    if (p.captions) for (const r of icPrompts(readJsonl<CaptionRow>(p.captions))) rows.push(r);
    writeJsonl(ctx.output('prompts'), rows);
    const count = (k: string): number => rows.filter((r) => r.kind === k).length;
    ctx.log(`${rows.length} prompts: ${count('sc')} sc, ${count('ssc')} ssc, ${count('ic')} ic; templates "${templates.template}", binary "${templates.binary}"`);
  },
});
