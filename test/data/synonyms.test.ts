// The synonym generator against a loopback server that speaks OpenAI chat-completions (the outside
// world's test double), including its errors: 401, 429 with retry-after, malformed JSON.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateSynonyms, readSynonymFile, renderSynonymPrompt, DEFAULT_SYNONYM_PROMPT, type GenerateOptions } from '../../src/data/synonyms.js';
import { projectFile } from '../../src/data/project-files.js';
import { loadTaxonomy } from '../../src/data/taxonomy.js';
import { StageError } from '../../src/stage-api.js';
import { tempDir } from './support.js';

const KEY = 'sk-test-SECRET-0123456789';
const ENV = 'PIPE_TEST_SYNONYM_KEY';
const tax = loadTaxonomy('webemo25');
const table = readSynonymFile(projectFile('data', 'synonyms', 'webemo.yaml'), tax, 5);

type Reply = (req: IncomingMessage, body: string, res: ServerResponse) => void;
let replies: Reply[] = [];
const requests: { auth?: string; body: { model: string; messages: { content: string }[]; response_format?: unknown } }[] = [];
let server: Server;
let baseUrl: string;
const dir = tempDir('syn');

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.url !== '/v1/chat/completions' || req.method !== 'POST') {
        res.writeHead(404).end();
        return;
      }
      requests.push({ auth: req.headers.authorization, body: JSON.parse(body) });
      const reply = replies.shift() ?? ok(table.synonyms);
      reply(req, body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  replies = [];
  requests.length = 0;
});

function ok(content: unknown): Reply {
  return (_req, _body, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: typeof content === 'string' ? content : JSON.stringify(content) }, finish_reason: 'stop' }] }));
  };
}
function status(code: number, body: string, headers: Record<string, string> = {}): Reply {
  return (_req, _b, res) => {
    res.writeHead(code, { 'content-type': 'application/json', ...headers });
    res.end(body);
  };
}

function options(extra: Partial<GenerateOptions> = {}): GenerateOptions & { lines: string[] } {
  const lines: string[] = [];
  return {
    baseUrl,
    model: 'test-model',
    apiKeyEnv: ENV,
    apiKey: KEY,
    prompt: renderSynonymPrompt(DEFAULT_SYNONYM_PROMPT, tax, 5),
    temperature: 0,
    jsonMode: true,
    maxRetries: 2,
    maxWaitS: 5,
    timeoutS: 10,
    log: (l) => lines.push(l),
    lines,
    ...extra,
  };
}

describe('synonym generation (OpenAI-compatible endpoint on loopback)', () => {
  it('requests once with the key as a bearer token, validates, and caches by model + prompt', async () => {
    const cacheDir = join(dir, 'cache');
    const o = options({ cacheDir });
    const t = await generateSynonyms(tax, 5, o);
    expect(t).toMatchObject({ taxonomy: 'webemo25', source: 'generated', model: 'test-model' });
    expect(t.synonyms.optimism).toContain('positivity');
    expect(requests).toHaveLength(1);
    expect(requests[0].auth).toBe(`Bearer ${KEY}`);
    expect(requests[0].body.model).toBe('test-model');
    expect(requests[0].body.response_format).toEqual({ type: 'json_object' });
    expect(requests[0].body.messages[1].content).toContain('cheerfullness: cheerfulness');
    // Same model and prompt: served from the cache, no request.
    await generateSynonyms(tax, 5, o);
    expect(requests).toHaveLength(1);
    // Another prompt is another key.
    await generateSynonyms(tax, 5, options({ cacheDir, prompt: o.prompt + '\nBe concise.' }));
    expect(requests).toHaveLength(2);
    const cached = readdirSync(cacheDir).map((f) => readFileSync(join(cacheDir, f), 'utf8')).join('');
    expect(cached).not.toContain(KEY);
    expect(o.lines.join('\n')).not.toContain(KEY);
  });

  it('401: names the environment variable, never the key', async () => {
    replies = [status(401, JSON.stringify({ error: { message: `Incorrect API key provided: ${KEY}` } }))];
    const err = await generateSynonyms(tax, 5, options()).then(
      () => new StageError('no error'),
      (e: StageError) => e,
    );
    expect(err.message).toBe(`synonyms/table: ${baseUrl}/chat/completions: the server rejected the API key from ${ENV} (HTTP 401)`);
    expect(err.hint).toBe(`Check the key in the environment variable ${ENV}.`);
    expect(JSON.stringify(err) + err.message + String(err.stack)).not.toContain(KEY);
  });

  it('429: waits for retry-after, then succeeds', async () => {
    replies = [status(429, '{"error":{"message":"Rate limit reached"}}', { 'retry-after': '1' })];
    const o = options();
    const t0 = Date.now();
    const t = await generateSynonyms(tax, 5, o);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(requests).toHaveLength(2);
    expect(t.synonyms.rage).toEqual(table.synonyms.rage);
    expect(o.lines).toEqual(['synonyms: HTTP 429; retrying in 1 s (attempt 2 of 3)']);
  });

  it('429 with a retry-after longer than max_wait_s fails at once with the reason', async () => {
    replies = [status(429, '{"error":{"message":"quota"}}', { 'retry-after': '3600' })];
    await expect(generateSynonyms(tax, 5, options())).rejects.toThrow(
      `synonyms/table: ${baseUrl}/chat/completions: HTTP 429 after 1 attempts (server asks to wait 3600 s): {"error":{"message":"quota"}}`,
    );
    expect(requests).toHaveLength(1);
  });

  it('malformed JSON from the server, and a model answer that is not a valid table', async () => {
    replies = [status(200, '{"choices": [ {"message": ')];
    await expect(generateSynonyms(tax, 5, options())).rejects.toThrow(`synonyms/table: ${baseUrl}/chat/completions: response is not valid JSON: {"choices": [ {"message": `);
    replies = [ok('here you go: sadness -> sorrow')];
    await expect(generateSynonyms(tax, 5, options())).rejects.toThrow(/the model's answer is not a JSON object/);
    const short = { ...table.synonyms, zest: ['enthusiasm', 'energy'] };
    replies = [ok(short)];
    await expect(generateSynonyms(tax, 5, options())).rejects.toThrow(`synonyms/table: ${baseUrl}/chat/completions (model test-model): zest: has 2 synonyms, expected 5`);
  });

  it('a missing key variable fails before any request', async () => {
    await expect(generateSynonyms(tax, 5, options({ apiKeyEnv: 'PIPE_TEST_UNSET_KEY', apiKey: undefined }))).rejects.toThrow(
      'synonyms/table: generate.api_key_env: environment variable PIPE_TEST_UNSET_KEY is not set',
    );
    expect(requests).toHaveLength(0);
  });
});

describe('synonym table file', () => {
  it('the shipped WEBEmo table has 5 distinct synonyms for each of the 25 classes', () => {
    expect(Object.keys(table.synonyms)).toHaveLength(25);
    expect(Object.values(table.synonyms).flat()).toHaveLength(125);
    expect(new Set(Object.values(table.synonyms).flat()).size).toBe(125);
  });

  it('rejects a table with a shared word or a wrong taxonomy', () => {
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, readFileSync(projectFile('data', 'synonyms', 'webemo.yaml'), 'utf8').replace('rage: [fury,', 'rage: [frustration,'));
    expect(() => readSynonymFile(f, tax, 5)).toThrow(`${f}: rage: "frustration" is also a synonym of exasperation`);
    expect(() => readSynonymFile(f, loadTaxonomy('fi8'), 5)).toThrow(`${f}: is a table for taxonomy "webemo25", not fi8`);
  });
});
