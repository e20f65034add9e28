// CLIP tokenisation with `@huggingface/tokenizers` from the folder's `tokenizer.json`: lower-cased
// byte-level BPE, BOS/EOS added by the post-processor, truncated to the context length keeping EOS last.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ClipTokenizer {
  /** Token ids with BOS and EOS, at most `contextLength` long. */
  encode(text: string): number[];
  readonly contextLength: number;
  readonly eosId: number;
  /** CLIP pads with EOS. */
  readonly padId: number;
}

/** Part of every text cache key: bump when `encode` changes its output for the same tokenizer files. */
export const TOKENIZE_VERSION = 'bos-eos-truncate-keep-eos-v1';

interface TokenizerFiles {
  readonly dir: string;
  readonly tokenizer: string;
  readonly config: string;
}

/** The optional `tokenizer_config.json` of a model folder (context length, special tokens). */
export function tokenizerConfigPath(dir: string): string {
  return join(dir, 'tokenizer_config.json');
}

function readTokenizerConfig(files: TokenizerFiles): Record<string, unknown> {
  const cfgPath = tokenizerConfigPath(files.dir);
  return existsSync(cfgPath) ? (JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>) : {};
}

/** Context length: tokenizer_config's model_max_length, else the text config's positions, else 77. */
function contextLength(files: TokenizerFiles, tokConfig: Record<string, unknown>): number {
  const mml = tokConfig.model_max_length;
  if (typeof mml === 'number' && mml > 0 && mml < 1e6) return mml;
  const cfg = JSON.parse(readFileSync(files.config, 'utf8')) as { text_config?: { max_position_embeddings?: number } };
  return cfg.text_config?.max_position_embeddings ?? 77;
}

/**
 * The input-preparation part of a text cache key: truncation policy and context length, read without
 * loading the tokenizer so that a fully cached run loads nothing.
 */
export function textInputVersion(files: TokenizerFiles): string {
  return `${TOKENIZE_VERSION};context=${contextLength(files, readTokenizerConfig(files))}`;
}

export async function loadClipTokenizer(files: TokenizerFiles): Promise<ClipTokenizer> {
  const { Tokenizer } = await import('@huggingface/tokenizers');
  const tokConfig = readTokenizerConfig(files);
  const tok = new Tokenizer(JSON.parse(readFileSync(files.tokenizer, 'utf8')) as object, tokConfig);
  const ctx = contextLength(files, tokConfig);
  const empty = tok.encode('').ids;
  if (empty.length !== 2) throw new Error(`${files.tokenizer}: expected a post-processor adding BOS and EOS, an empty text encodes to [${empty}]`);
  const eosId = empty[1];
  return {
    contextLength: ctx,
    eosId,
    padId: eosId,
    encode(text) {
      const ids = tok.encode(text).ids;
      // Truncation as HF does it with special tokens: drop content tokens from the end, keep EOS.
      if (ids.length > ctx) return [...ids.slice(0, ctx - 1), eosId];
      return ids;
    },
  };
}

export interface PaddedBatch {
  /** Row-major [rows, width] token ids, padded with PAD after each text's EOS. */
  readonly ids: BigInt64Array;
  /** 1 on real tokens (BOS, text, EOS), 0 on padding. */
  readonly mask: BigInt64Array;
  readonly width: number;
}

/**
 * `items` ordered by the token count of their text, shortest first, ties in their given order. Batches cut
 * from this order are padded to about their own texts' length: in random order a batch of 32 captions is
 * padded to its longest one, and the padding costs as much as tokens do (`npm run bench:embed-texts`).
 */
export function byTokenCount<T>(items: readonly T[], textOf: (item: T) => string, tokenizer: ClipTokenizer): T[] {
  const counts = items.map((item) => tokenizer.encode(textOf(item)).length);
  return items.map((item, i) => ({ item, i })).sort((a, b) => counts[a.i] - counts[b.i] || a.i - b.i).map(({ item }) => item);
}

/**
 * A batch of encoded texts as model inputs: padded to the longest in the batch (not to the context
 * length) with `padId`, and the attention mask. With causal attention and pooling at the first EOS the
 * embedding does not depend on the padding (checked in test/clip/model.test.ts).
 */
export function padBatch(batch: readonly (readonly number[])[], padId: number): PaddedBatch {
  const width = Math.max(...batch.map((b) => b.length));
  const ids = new BigInt64Array(batch.length * width).fill(BigInt(padId));
  const mask = new BigInt64Array(batch.length * width);
  batch.forEach((b, i) =>
    b.forEach((id, j) => {
      ids[i * width + j] = BigInt(id);
      mask[i * width + j] = 1n;
    }),
  );
  return { ids, mask, width };
}
