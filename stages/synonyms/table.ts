// `synonyms/table`: the synonym table for SSC prompts, from a YAML file (default: the project's
// hand-written WEBEmo table) or generated through an OpenAI-compatible chat-completions endpoint.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { ingestTaxonomy, taxonomyFingerprint } from '../../src/data/ingest-stage.js';
import { projectFile } from '../../src/data/project-files.js';
import { DEFAULT_SYNONYM_PROMPT, generateSynonyms, readSynonymFile, renderSynonymPrompt } from '../../src/data/synonyms.js';
import { defineStage, StageError } from '../../src/stage-api.js';

export interface SynonymsParams {
  readonly taxonomy: string;
  readonly confusion: 'sadness' | 'own';
  readonly taxonomy_dir?: string;
  /** A YAML table; without it (and without `generate`) the built-in data/synonyms/webemo.yaml. */
  readonly file?: string;
  readonly count: number;
  readonly generate?: {
    readonly base_url: string;
    readonly model: string;
    readonly api_key_env: string;
    readonly prompt: string;
    readonly temperature: number;
    readonly json_mode: boolean;
    readonly max_retries: number;
    readonly max_wait_s: number;
    readonly timeout_s: number;
  };
}

const BUILT_IN = (): string => projectFile('data', 'synonyms', 'webemo.yaml');

function sourceFile(p: SynonymsParams): string | undefined {
  if (p.generate) {
    if (p.file) throw new StageError('synonyms/table: give either file or generate, not both');
    return undefined;
  }
  if (p.file) return p.file;
  if (p.taxonomy !== 'webemo25') throw new StageError(`synonyms/table: no built-in synonym table for ${p.taxonomy}`, 'Give file: <your table.yaml>, or generate: { base_url, model }.');
  return BUILT_IN();
}

export default defineStage<SynonymsParams>({
  kind: 'synonyms/table',
  version: '1',
  description: 'Synonyms per class for SSC prompts, from a YAML table or an OpenAI-compatible endpoint',
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      taxonomy: { type: 'string', default: 'webemo25' },
      confusion: { enum: ['sadness', 'own'], default: 'sadness' },
      taxonomy_dir: { type: 'string', format: 'path', description: 'directory of extra taxonomy files' },
      file: { type: 'string', format: 'path', description: 'YAML table { taxonomy, synonyms: { class: [words] } }' },
      count: { type: 'integer', minimum: 1, default: 5, description: 'synonyms per class' },
      generate: {
        type: 'object',
        additionalProperties: false,
        required: ['base_url', 'model'],
        properties: {
          base_url: { type: 'string', description: 'OpenAI-compatible API root, e.g. https://api.openai.com/v1' },
          model: { type: 'string' },
          api_key_env: { type: 'string', default: 'OPENAI_API_KEY', description: 'NAME of the environment variable with the key' },
          prompt: { type: 'string', default: DEFAULT_SYNONYM_PROMPT, description: 'template with {count} and {classes}' },
          temperature: { type: 'number', minimum: 0, default: 0 },
          json_mode: { type: 'boolean', default: true },
          max_retries: { type: 'integer', minimum: 0, default: 4 },
          max_wait_s: { type: 'number', minimum: 0, default: 120 },
          timeout_s: { type: 'number', exclusiveMinimum: 0, default: 120 },
        },
      },
    },
  },
  outputs: { synonyms: { path: 'synonyms.json', description: '{ taxonomy, synonyms: { class: [words] }, source, model?, prompt? }' } },
  async fingerprint(p) {
    const fp = taxonomyFingerprint(ingestTaxonomy(p.taxonomy, p));
    // The built-in table is not a path param: its content joins the key here.
    if (!p.generate && !p.file) fp['synonyms:built-in'] = createHash('sha256').update(readFileSync(BUILT_IN())).digest('hex');
    return fp;
  },
  // The API key is a secret: handed to run() by the engine, never part of the key or a log.
  secrets: (p) => (p.generate ? [p.generate.api_key_env] : []),
  async run(ctx) {
    const p = ctx.params;
    const tax = ingestTaxonomy(p.taxonomy, p);
    const file = sourceFile(p);
    let table;
    if (file) {
      table = readSynonymFile(file, tax, p.count);
    } else {
      const g = p.generate!;
      table = await generateSynonyms(tax, p.count, {
        baseUrl: g.base_url,
        model: g.model,
        apiKeyEnv: g.api_key_env,
        apiKey: ctx.secret(g.api_key_env),
        prompt: renderSynonymPrompt(g.prompt, tax, p.count),
        temperature: g.temperature,
        jsonMode: g.json_mode,
        maxRetries: g.max_retries,
        maxWaitS: g.max_wait_s,
        timeoutS: g.timeout_s,
        cacheDir: ctx.kindCacheDir,
        signal: ctx.signal,
        log: (l) => ctx.log(l),
      });
    }
    writeFileSync(ctx.output('synonyms'), JSON.stringify(table, null, 2) + '\n');
    ctx.log(`${Object.keys(table.synonyms).length} classes x ${p.count} synonyms (${table.source}${table.model ? `, model ${table.model}` : ''})`);
  },
});
