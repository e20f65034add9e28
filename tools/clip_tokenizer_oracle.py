#!/usr/bin/python3
"""Dev-only: the real CLIP tokenizer as an oracle for pipe's (src/clip/tokenizer.ts).

Writes, from the authors' BPE vocabulary and tokenizer (openai/CLIP, MIT, in ../shared/reference/openai-clip,
imported and run here, not copied):

  test/fixtures/clip-tokenizer/tokenizer.json.gz   the vocabulary laid out as Hugging Face's CLIP exports are
                                                   (transformers' CLIPConverter: NFC + whitespace + lower-case
                                                   normalizer, CLIP split, byte-level BPE with </w>, BOS/EOS
                                                   post-processor)
  test/golden/clip/tokenizer-oracle.json.gz        >= 10,000 strings and the ids the Python tokenizer gives them
                                                   with BOS 49406 / EOS 49407, truncated to 77 keeping EOS; for
                                                   a sample, the ids padded to 77 with EOS and the attention mask

Run: /usr/bin/python3 tools/clip_tokenizer_oracle.py [REFERENCE_DIR]   (needs Debian's python3-regex, python3-yaml)
Both outputs are byte-for-byte reproducible (fixed seed, gzip mtime 0). CI only reads them.

ftfy (which simple_tokenizer's basic_clean calls) is not installable here; it is replaced by NFC
normalisation, the part of ftfy.fix_text that changes text ftfy considers clean. The corpus therefore leaves
out what ftfy or html.unescape would rewrite (mojibake, curly quotes, ligatures, full-width forms, control
characters, HTML entities): those are differences between the authors' tokenizer and every Hugging Face export,
not something pipe should copy. The script checks each string against that rule.
"""
import glob
import gzip
import html
import io
import json
import os
import random
import sys
import types
import unicodedata

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REF = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, '..', '..', 'shared', 'reference', 'openai-clip')
if not os.path.exists(os.path.join(REF, 'simple_tokenizer.py')):
    REF = '/work/shared/reference/openai-clip'

# ftfy stand-in (see the module docstring), installed before the authors' module imports it.
sys.modules['ftfy'] = types.SimpleNamespace(fix_text=lambda s: unicodedata.normalize('NFC', s))
sys.path.insert(0, REF)
from simple_tokenizer import SimpleTokenizer  # noqa: E402  (the oracle)

CONTEXT = 77
tok = SimpleTokenizer(os.path.join(REF, 'bpe_simple_vocab_16e6.txt.gz'))
BOS = tok.encoder['<|startoftext|>']
EOS = tok.encoder['<|endoftext|>']
assert (BOS, EOS, len(tok.encoder)) == (49406, 49407, 49408)


def oracle_ids(text):
    """clip.tokenize's content ids with BOS/EOS, truncated as the HF exports do (EOS kept last)."""
    ids = [BOS] + tok.encode(text) + [EOS]
    return ids if len(ids) <= CONTEXT else ids[: CONTEXT - 1] + [EOS]


def write_gz(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode='wb', mtime=0, filename='') as f:
        f.write(text.encode('utf-8'))
    with open(path, 'wb') as f:
        f.write(buf.getvalue())


def tokenizer_json():
    """The Hugging Face layout (transformers CLIPConverter), vocabulary and merges from the oracle."""
    merges = sorted(tok.bpe_ranks, key=tok.bpe_ranks.get)
    special = lambda i, c: {'id': i, 'content': c, 'single_word': False, 'lstrip': False, 'rstrip': False, 'normalized': True, 'special': True}
    return {
        'version': '1.0',
        'truncation': None,
        'padding': None,
        'added_tokens': [special(BOS, '<|startoftext|>'), special(EOS, '<|endoftext|>')],
        'normalizer': {'type': 'Sequence', 'normalizers': [
            {'type': 'NFC'}, {'type': 'Replace', 'pattern': {'Regex': '\\s+'}, 'content': ' '}, {'type': 'Lowercase'}]},
        'pre_tokenizer': {'type': 'Sequence', 'pretokenizers': [
            {'type': 'Split', 'pattern': {'Regex': "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+"}, 'behavior': 'Removed', 'invert': True},
            {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True}]},
        'post_processor': {'type': 'RobertaProcessing', 'sep': ['<|endoftext|>', EOS], 'cls': ['<|startoftext|>', BOS], 'trim_offsets': False, 'add_prefix_space': False},
        'decoder': {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True},
        'model': {'type': 'BPE', 'dropout': None, 'unk_token': '<|endoftext|>', 'continuing_subword_prefix': '', 'end_of_word_suffix': '</w>',
                  'fuse_unk': False, 'byte_fallback': False, 'ignore_merges': False,
                  'vocab': tok.encoder, 'merges': [f'{a} {b}' for a, b in merges]},
    }


def class_words():
    """Every class name and id of taxonomies/, and every synonym of data/synonyms/."""
    words = []
    for f in sorted(glob.glob(os.path.join(ROOT, 'taxonomies', '*.yaml'))):
        for c in yaml.safe_load(open(f, encoding='utf-8'))['classes']:
            words += [str(c['name']), str(c['id'])]
    for f in sorted(glob.glob(os.path.join(ROOT, 'data', 'synonyms', '*.yaml'))):
        for syns in yaml.safe_load(open(f, encoding='utf-8'))['synonyms'].values():
            words += [str(s) for s in syns]
    return list(dict.fromkeys(words))


# The paper's SC template, the authors' notebook template and the notebooks' binary form (src/data/prompts.ts).
TEMPLATES = ['a photo that seems to express {}', 'a photo that evokes {}', 'a photo that evokes a {} feeling']
SCENES = ['a kid sledding in the snow', 'two people on a beach at sunset', 'an old man reading a newspaper', 'a dog running across a field',
          'a crowded city street at night', 'a woman holding a bouquet of flowers', 'storm clouds over a small village', 'a birthday cake with candles']
PUNCT = list('!"#$%()*+,-./:;<=>?@[\\]^_`{|}~\'') + ['...', '?!', '--', '(!)', "'s", "''", '#1', '@me', '100%', '$5.99']
UNICODE = ['café', 'naïve', 'Zürich', 'smörgåsbord', 'ÉMOTION', 'Ελληνικά', 'русский язык', '日本語のテキスト', '中文字符', '한국어',
           'العربية', 'עברית', 'हिन्दी', 'ไทย', '😀', '😢🎉', '❤️', '👍🏽', '∑ ∫ √', '°C', 'µm', '½ ¾', 'Ⅻ', '٣٤٥', 'ß', 'İstanbul', 'ǅ']
SPACES = [' ', '  ', '\t', '\n', ' \n\t ', '\u00a0', '\u2003', '\u3000']


def ftfy_clean(s):
    """True when ftfy (beyond NFC) and html.unescape would leave the string alone (see the docstring)."""
    if html.unescape(html.unescape(s)) != s or unicodedata.normalize('NFC', s) != s:
        return False
    for ch in s:
        cat = unicodedata.category(ch)
        if ch in '\u2018\u2019\u201c\u201d\u00ad' or '\ufb00' <= ch <= '\ufb4f' or '\uff00' <= ch <= '\uffef':
            return False
        if cat in ('Cc', 'Cf') and ch not in '\t\n\u200d\ufe0f':
            return False
    return True


def corpus(rng):
    words = class_words()
    vocab_words = sorted({t[:-4] for t in tok.encoder if t.endswith('</w>') and t[:-4].isalpha() and t[:-4].isascii()})
    out = []
    # Prompts: every class and synonym in every template, as written, capitalised and upper-cased.
    for w in words:
        for t in TEMPLATES:
            for v in (w, w.capitalize(), w.upper()):
                out.append(t.format(v))
    # Generated captions: scene, then a feeling word; and sentences of real vocabulary words.
    for i in range(3000):
        out.append(f'{rng.choice(SCENES)}, with a feeling of {rng.choice(words)}')
    for i in range(4000):
        out.append(' '.join(rng.choice(vocab_words) for _ in range(rng.randint(1, 20))))
    # Punctuation, digits, unicode, whitespace mixed into prompts and vocabulary words.
    atoms = PUNCT + UNICODE + [str(rng.randint(0, 10 ** rng.randint(1, 9))) for _ in range(200)] + vocab_words[:2000] + words
    for i in range(3000):
        parts = [rng.choice(atoms) for _ in range(rng.randint(1, 12))]
        out.append(''.join(p + rng.choice(SPACES + ['', '', '', ' ', ' ']) for p in parts))
    for s in PUNCT + UNICODE + SPACES + ['', "it's", "don't", "WE'LL", "they're", "I'd", "you've", "I'M", "o'clock", '3.14159', '2024-01-02', '1st 2nd 3rd']:
        out += [s, f'  {s}  ', f'a photo that evokes {s}']
    # Past the context length: truncation keeps EOS.
    for i in range(300):
        out.append(' '.join(rng.choice(vocab_words + PUNCT + UNICODE) for _ in range(rng.randint(60, 140))))
    out.append(' '.join(['happy'] * 75))  # 75 content tokens: exactly 77 with BOS/EOS
    out.append(' '.join(['happy'] * 76))  # one too many
    clean = [s for s in dict.fromkeys(out) if ftfy_clean(s)]
    dropped = len(dict.fromkeys(out)) - len(clean)
    return clean, dropped


def main():
    rng = random.Random(15)
    texts, dropped = corpus(rng)
    assert len(texts) >= 10_000, len(texts)
    cases = [[t, oracle_ids(t)] for t in texts]
    # Padding as the exports do it (padding="max_length"): EOS (= PAD) to 77, mask 1 on real tokens.
    sample = rng.sample(range(len(cases)), 256)
    padded = [{'index': i, 'input_ids': cases[i][1] + [EOS] * (CONTEXT - len(cases[i][1])), 'attention_mask': [1] * len(cases[i][1]) + [0] * (CONTEXT - len(cases[i][1]))} for i in sorted(sample)]
    golden = {
        'about': 'tools/clip_tokenizer_oracle.py: openai/CLIP simple_tokenizer (ftfy replaced by NFC) over the real BPE vocabulary',
        'bos': BOS, 'eos': EOS, 'pad': EOS, 'context_length': CONTEXT,
        'dropped_by_ftfy_rule': dropped,
        'cases': cases,
        'padded': padded,
    }
    write_gz(os.path.join(ROOT, 'test', 'fixtures', 'clip-tokenizer', 'tokenizer.json.gz'), json.dumps(tokenizer_json(), ensure_ascii=False, separators=(',', ':')))
    write_gz(os.path.join(ROOT, 'test', 'golden', 'clip', 'tokenizer-oracle.json.gz'), json.dumps(golden, ensure_ascii=False, separators=(',', ':')))
    print(f'{len(cases)} strings ({dropped} left out by the ftfy rule), {sum(len(c[1]) == CONTEXT for c in cases)} at the 77-token limit')


main()
