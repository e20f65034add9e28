// pipe's CLIP tokenizer (src/clip/tokenizer.ts) against the authors' own: the real ViT-B/32 BPE vocabulary
// laid out as Hugging Face's CLIP exports are, and the ids openai/CLIP's simple_tokenizer gives >= 10,000
// strings (prompts for every class and synonym, captions, punctuation, digits, unicode, whitespace, texts
// past 77 tokens). Both files are made by tools/clip_tokenizer_oracle.py (Python, dev-only); CI reads them.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byTokenCount, loadClipTokenizer, padBatch, type ClipTokenizer } from '../../src/clip/tokenizer.js';
import { REPO_ROOT } from '../support/index.js';

interface Oracle {
  readonly bos: number;
  readonly eos: number;
  readonly pad: number;
  readonly context_length: number;
  readonly cases: readonly [string, number[]][];
  /** A sample padded to the context length as the exports do (padding="max_length"). */
  readonly padded: readonly { index: number; input_ids: number[]; attention_mask: number[] }[];
}

const gunzipJson = <T>(rel: string): T => JSON.parse(gunzipSync(readFileSync(join(REPO_ROOT, rel))).toString('utf8')) as T;
const oracle = gunzipJson<Oracle>('test/golden/clip/tokenizer-oracle.json.gz');

let dir: string;
let tok: ClipTokenizer;
beforeAll(async () => {
  // A model folder's tokenizer files, as in a Hugging Face export of openai/clip-vit-base-patch32.
  dir = mkdtempSync(join(tmpdir(), 'pipe-clip-tok-'));
  writeFileSync(join(dir, 'tokenizer.json'), gunzipSync(readFileSync(join(REPO_ROOT, 'test/fixtures/clip-tokenizer/tokenizer.json.gz'))));
  const special = { bos_token: '<|startoftext|>', eos_token: '<|endoftext|>', pad_token: '<|endoftext|>', unk_token: '<|endoftext|>' };
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ model_max_length: 77, do_lower_case: true, ...special }));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ text_config: { max_position_embeddings: 77 } }));
  tok = await loadClipTokenizer({ dir, tokenizer: join(dir, 'tokenizer.json'), config: join(dir, 'config.json') });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('CLIP tokenizer against the openai/CLIP oracle', () => {
  it('has the exports\' special ids and context length', () => {
    expect([oracle.bos, oracle.eos, oracle.pad, oracle.context_length]).toEqual([49406, 49407, 49407, 77]);
    expect(tok.contextLength).toBe(77);
    expect(tok.eosId).toBe(49407);
    expect(tok.padId).toBe(49407);
    expect(tok.encode('')).toEqual([49406, 49407]);
  });

  it(`gives the oracle's ids for all ${oracle.cases.length} strings, truncated at 77 keeping EOS`, () => {
    expect(oracle.cases.length).toBeGreaterThanOrEqual(10_000);
    const wrong = oracle.cases.filter(([text, ids]) => JSON.stringify(tok.encode(text)) !== JSON.stringify(ids));
    // Shown whole for the first few, so a failure says which strings and how.
    expect(wrong.slice(0, 5).map(([text, ids]) => ({ text, oracle: ids, pipe: tok.encode(text) }))).toEqual([]);
    expect(wrong.length).toBe(0);
    const truncated = oracle.cases.filter(([, ids]) => ids.length === 77);
    expect(truncated.length).toBeGreaterThan(100);
    for (const [text] of truncated) expect(tok.encode(text).at(-1)).toBe(49407);
  });

  it('pads a batch with EOS and masks the padding as the exports do, up to the longest text', () => {
    const rows = oracle.padded;
    const batch = rows.map((r) => tok.encode(oracle.cases[r.index][0]));
    const { ids, mask, width } = padBatch(batch, tok.padId);
    expect(width).toBe(Math.max(...rows.map((r) => r.attention_mask.reduce((a, b) => a + b, 0))));
    rows.forEach((r, i) => {
      const row = (a: BigInt64Array) => [...a.subarray(i * width, (i + 1) * width)].map(Number);
      expect(row(ids)).toEqual(r.input_ids.slice(0, width));
      expect(row(mask)).toEqual(r.attention_mask.slice(0, width));
      // What the exports pad beyond the longest text is padding only.
      expect(new Set(r.input_ids.slice(width))).toEqual(width < 77 ? new Set([49407]) : new Set());
      expect(r.attention_mask.slice(width).every((m) => m === 0)).toBe(true);
    });
  });

  it('orders texts by token count for batching, shortest first, ties in their given order', () => {
    const texts = ['a photo that contains a kid sledding in snow at the mountain', 'joy', 'a photo', 'sadness', 'a photo that evokes joy'];
    const ordered = byTokenCount(texts.map((text, i) => ({ text, i })), (t) => t.text, tok);
    expect(ordered.map((t) => t.i)).toEqual([1, 3, 2, 4, 0]);
    expect(ordered.map((t) => tok.encode(t.text).length)).toEqual([3, 3, 4, 8, 15]);
  });
});
