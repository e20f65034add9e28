// The synonym table behind SSC prompts: N synonyms per class, from a YAML file (the project ships a
// hand-written WEBEmo table) or generated once through any OpenAI-compatible chat-completions endpoint.
// The API key is read from the environment at request time and never enters params, logs, errors,
// hashes or outputs; generated tables are cached by (endpoint, model, prompt) so they are never
// re-requested.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse as parseYaml } from 'yaml';
import { dataError } from './errors.js';
import type { Taxonomy } from './taxonomy.js';

/** `synonyms.json`, written by `synonyms/table`. */
export interface SynonymTable {
  readonly taxonomy: string;
  readonly synonyms: Readonly<Record<string, readonly string[]>>;
  readonly source: 'file' | 'generated';
  readonly model?: string;
  readonly prompt?: string;
}

/** Checks a class -> words map against the taxonomy: every class, exactly `count` distinct words, none shared. */
export function validateSynonyms(where: string, raw: unknown, tax: Taxonomy, count: number): Record<string, string[]> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw dataError(where, 'expected a map of class id -> list of synonyms');
  const map = raw as Record<string, unknown>;
  const ids = tax.classes.map((c) => c.id);
  const unknown = Object.keys(map).filter((k) => !ids.includes(k));
  if (unknown.length) throw dataError(where, `${unknown.join(', ')} ${unknown.length > 1 ? 'are not classes' : 'is not a class'} of ${tax.id} (${ids.join(', ')})`);
  const missing = ids.filter((k) => !(k in map));
  if (missing.length) throw dataError(where, `no synonyms for ${missing.join(', ')}`, `Every class of ${tax.id} needs ${count} synonyms.`);
  const owner = new Map<string, string>();
  const out: Record<string, string[]> = {};
  for (const id of ids) {
    const words = map[id];
    if (!Array.isArray(words) || !words.every((w) => typeof w === 'string' && w.trim())) throw dataError(`${where}: ${id}`, 'expected a list of non-empty strings');
    const clean = words.map((w: string) => w.trim().toLowerCase());
    if (clean.length !== count) throw dataError(`${where}: ${id}`, `has ${clean.length} synonyms, expected ${count}`);
    for (const w of clean) {
      const prev = owner.get(w);
      if (prev === id) throw dataError(`${where}: ${id}`, `"${w}" is listed twice`);
      if (prev) throw dataError(`${where}: ${id}`, `"${w}" is also a synonym of ${prev}`, 'A word shared by two classes makes SSC prompts ambiguous; pick another.');
      owner.set(w, id);
    }
    out[id] = clean;
  }
  return out;
}

/** A YAML table `{ taxonomy, synonyms: { classId: [words] } }` (data/synonyms/webemo.yaml). */
export function readSynonymFile(file: string, tax: Taxonomy, count: number): SynonymTable {
  if (!existsSync(file)) throw dataError(file, 'synonym table not found');
  let doc: { taxonomy?: unknown; synonyms?: unknown };
  try {
    doc = (parseYaml(readFileSync(file, 'utf8')) ?? {}) as typeof doc;
  } catch (e) {
    throw dataError(file, `invalid YAML (${(e as Error).message})`);
  }
  if (doc.taxonomy !== tax.id) throw dataError(file, `is a table for taxonomy "${String(doc.taxonomy)}", not ${tax.id}`, 'Set `taxonomy:` in the file, or use the stage with the matching taxonomy.');
  return { taxonomy: tax.id, synonyms: validateSynonyms(file, doc.synonyms, tax, count), source: 'file' };
}

export const DEFAULT_SYNONYM_PROMPT =
  'For each emotion category below, give exactly {count} English synonyms (single words or short phrases) that describe ' +
  'the emotion a photo can express. Do not use the category name itself and do not repeat a word across categories. ' +
  'Answer with one JSON object only, mapping each category id to an array of {count} lower-case strings.\n' +
  'Categories (id: name):\n{classes}';

export function renderSynonymPrompt(template: string, tax: Taxonomy, count: number): string {
  const classes = tax.classes.map((c) => `${c.id}: ${c.name}`).join('\n');
  return template.replaceAll('{count}', String(count)).replaceAll('{classes}', classes);
}

export interface GenerateOptions {
  /** e.g. `https://api.openai.com/v1` or a local server's `http://127.0.0.1:8000/v1`. */
  readonly baseUrl: string;
  readonly model: string;
  /** Name of the environment variable holding the key (the key itself never passes through params). */
  readonly apiKeyEnv: string;
  /** The key itself (the stage gets it with ctx.secret(apiKeyEnv)); undefined when the variable is unset. */
  readonly apiKey: string | undefined;
  readonly prompt: string;
  readonly temperature: number;
  /** Ask for `response_format: json_object` (servers without it answer HTTP 400: turn it off). */
  readonly jsonMode: boolean;
  /** Retries after HTTP 429/5xx or a network error. */
  readonly maxRetries: number;
  /** Longest wait between retries, in seconds (a larger retry-after fails instead). */
  readonly maxWaitS: number;
  readonly timeoutS: number;
  /** Responses cached here by (endpoint, model, prompt, temperature). */
  readonly cacheDir?: string;
  readonly signal?: AbortSignal;
  log(line: string): void;
}

/** Waiting time of a `retry-after` header: seconds or an HTTP date. */
function retryAfterS(header: string | null, attempt: number): number {
  if (header) {
    const s = Number(header);
    if (Number.isFinite(s)) return Math.max(0, s);
    const t = Date.parse(header);
    if (Number.isFinite(t)) return Math.max(0, (t - Date.now()) / 1000);
  }
  return 2 ** attempt;
}

interface ChatResponse {
  choices?: { message?: { content?: unknown } }[];
}

/** Requests the table (or takes it from the cache) and validates it against the taxonomy. */
export async function generateSynonyms(tax: Taxonomy, count: number, o: GenerateOptions): Promise<SynonymTable> {
  const key = o.apiKey;
  if (!key) throw dataError(`synonyms/table: generate.api_key_env`, `environment variable ${o.apiKeyEnv} is not set`, `Export ${o.apiKeyEnv}=<your API key> before running (keys never go into pipeline files).`);
  const redact = (text: string): string => text.split(key).join('***');
  const url = `${o.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  const where = `synonyms/table: ${url}`;
  const cacheId = createHash('sha256').update(JSON.stringify([url, o.model, o.prompt, o.temperature, o.jsonMode])).digest('hex');
  const cacheFile = o.cacheDir ? join(o.cacheDir, `synonyms-${cacheId}.json`) : undefined;

  let content: string;
  if (cacheFile && existsSync(cacheFile)) {
    content = (JSON.parse(readFileSync(cacheFile, 'utf8')) as { content: string }).content;
    o.log(`synonyms: cached response for model ${o.model} (${cacheId.slice(0, 12)})`);
  } else {
    content = await request(url, key, o, where, redact);
    if (cacheFile) {
      mkdirSync(o.cacheDir!, { recursive: true });
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify({ model: o.model, prompt: o.prompt, content }));
      renameSync(tmp, cacheFile);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(content.replace(/^```(?:json)?\s*|\s*```$/g, ''));
  } catch {
    throw dataError(where, `the model's answer is not a JSON object: ${redact(content.slice(0, 200))}`, 'Use a model that follows JSON instructions, or adjust the prompt.');
  }
  return { taxonomy: tax.id, synonyms: validateSynonyms(`${where} (model ${o.model})`, parsed, tax, count), source: 'generated', model: o.model, prompt: o.prompt };
}

async function request(url: string, key: string, o: GenerateOptions, where: string, redact: (s: string) => string): Promise<string> {
  const body = JSON.stringify({
    model: o.model,
    temperature: o.temperature,
    messages: [
      { role: 'system', content: 'You are a careful lexicographer. You answer with JSON only.' },
      { role: 'user', content: o.prompt },
    ],
    ...(o.jsonMode ? { response_format: { type: 'json_object' } } : {}),
  });
  for (let attempt = 0; ; attempt++) {
    let res: Response;
    try {
      const signals = [AbortSignal.timeout(o.timeoutS * 1000), ...(o.signal ? [o.signal] : [])];
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body,
        signal: AbortSignal.any(signals),
      });
    } catch (e) {
      if (o.signal?.aborted) throw e;
      if (attempt >= o.maxRetries) throw dataError(where, `request failed after ${attempt + 1} attempts: ${redact((e as Error).message)}`, 'Check base_url and that the server is reachable.');
      const wait = 2 ** attempt;
      o.log(`synonyms: request failed (${redact((e as Error).message)}); retrying in ${wait} s`);
      await sleep(wait * 1000, undefined, { signal: o.signal });
      continue;
    }
    const text = await res.text();
    if (res.status === 401 || res.status === 403) {
      throw dataError(where, `the server rejected the API key from ${o.apiKeyEnv} (HTTP ${res.status})`, `Check the key in the environment variable ${o.apiKeyEnv}.`);
    }
    if (res.status === 429 || res.status >= 500) {
      const wait = retryAfterS(res.headers.get('retry-after'), attempt);
      if (attempt >= o.maxRetries || wait > o.maxWaitS) {
        throw dataError(where, `HTTP ${res.status} after ${attempt + 1} attempts${wait > o.maxWaitS ? ` (server asks to wait ${Math.ceil(wait)} s)` : ''}: ${redact(text.slice(0, 200))}`, 'Try again later, or raise generate.max_retries / generate.max_wait_s.');
      }
      o.log(`synonyms: HTTP ${res.status}; retrying in ${wait} s (attempt ${attempt + 2} of ${o.maxRetries + 1})`);
      await sleep(wait * 1000, undefined, { signal: o.signal });
      continue;
    }
    if (!res.ok) throw dataError(where, `HTTP ${res.status}: ${redact(text.slice(0, 300))}`, o.jsonMode ? 'If the server does not support response_format, set generate.json_mode: false.' : undefined);
    let json: ChatResponse;
    try {
      json = JSON.parse(text) as ChatResponse;
    } catch {
      throw dataError(where, `response is not valid JSON: ${redact(text.slice(0, 200))}`, 'Is base_url an OpenAI-compatible endpoint (ending in /v1)?');
    }
    const content = json.choices?.[0]?.message?.content;
    if (typeof content !== 'string') throw dataError(where, `response has no choices[0].message.content: ${redact(text.slice(0, 200))}`);
    return content;
  }
}
