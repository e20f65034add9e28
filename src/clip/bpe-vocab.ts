// A small CLIP-style tokenizer (`tokenizer.json`) for generated models: lower-cased byte-level BPE with the
// `</w>` end-of-word suffix, vocabulary in CLIP's order (bytes, bytes + `</w>`, merges, then BOS and EOS as
// the two last ids, EOS doubling as PAD). Written here because a generated model needs a tokenizer that
// `@huggingface/tokenizers` loads exactly like the real one, and no library trains one in JS.

/** GPT-2/CLIP `bytes_to_unicode`: every byte as a printable character. */
function bytesToUnicode(): string[] {
  const printable = new Set<number>();
  for (let b = 33; b <= 126; b++) printable.add(b);
  for (let b = 161; b <= 172; b++) printable.add(b);
  for (let b = 174; b <= 255; b++) printable.add(b);
  const out: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) out.push(String.fromCodePoint(printable.has(b) ? b : 256 + n++));
  return out;
}

const BYTE_CHARS = bytesToUnicode();
export const BOS_TOKEN = '<|startoftext|>';
export const EOS_TOKEN = '<|endoftext|>';
/** CLIP's pre-tokenizer split (letters, single digits, punctuation runs, English contractions). */
const SPLIT_REGEX = "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

/** Words the tiny vocabulary is trained on: CLIP-E prompt templates and emotion labels. */
const CORPUS = `a photo that seems to express a photo that evokes a feeling positive negative
affection cheerfullness confusion contentment disappointment disgust enthrallment envy exasperation gratitude
horror irritabilty lust neglect nervousness optimism pride rage relief sadness shame suffering surprise sympathy
zest anger fear joy love amusement awe excitement happiness gladness hopefulness confidence positivity
the of and in on with kid sledding snow at mountain people dog cat man woman child beach city street sky`;

function byteWord(word: string): string[] {
  const chars = [...Buffer.from(word, 'utf8')].map((b) => BYTE_CHARS[b]);
  chars[chars.length - 1] += '</w>';
  return chars;
}

/** Learns `merges` BPE merges on the built-in corpus (most frequent pair first, ties by first seen). */
function learnMerges(count: number): [string, string][] {
  const words = CORPUS.toLowerCase().split(/\s+/).filter(Boolean).map(byteWord);
  const merges: [string, string][] = [];
  while (merges.length < count) {
    const freq = new Map<string, number>();
    for (const w of words) for (let i = 0; i + 1 < w.length; i++) {
      const key = `${w[i]} ${w[i + 1]}`;
      freq.set(key, (freq.get(key) ?? 0) + 1);
    }
    let best = '';
    let bestN = 0;
    for (const [k, n] of freq) if (n > bestN) [best, bestN] = [k, n];
    if (!best) break;
    const [a, b] = best.split(' ') as [string, string];
    merges.push([a, b]);
    for (const w of words) {
      for (let i = 0; i + 1 < w.length; i++) if (w[i] === a && w[i + 1] === b) w.splice(i, 2, a + b);
    }
  }
  return merges;
}

export interface GeneratedTokenizer {
  readonly tokenizerJson: object;
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
}

/** The `tokenizer.json` of a generated CLIP model with up to `merges` merges. */
export function clipTokenizerJson(merges = 400): GeneratedTokenizer {
  const learned = learnMerges(merges);
  const vocab: Record<string, number> = {};
  const add = (t: string) => { if (!(t in vocab)) vocab[t] = Object.keys(vocab).length; };
  BYTE_CHARS.forEach(add);
  BYTE_CHARS.forEach((c) => add(c + '</w>'));
  for (const [a, b] of learned) add(a + b);
  const bosId = Object.keys(vocab).length;
  const eosId = bosId + 1;
  vocab[BOS_TOKEN] = bosId;
  vocab[EOS_TOKEN] = eosId;
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true });
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(bosId, BOS_TOKEN), special(eosId, EOS_TOKEN)],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }] },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: SPLIT_REGEX }, behavior: 'Removed', invert: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: { type: 'RobertaProcessing', sep: [EOS_TOKEN, eosId], cls: [BOS_TOKEN, bosId], trim_offsets: false, add_prefix_space: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: EOS_TOKEN, continuing_subword_prefix: '', end_of_word_suffix: '</w>',
      fuse_unk: false, byte_fallback: false, vocab, merges: learned.map(([a, b]) => `${a} ${b}`),
    },
  };
  return { tokenizerJson, vocabSize: eosId + 1, bosId, eosId };
}
