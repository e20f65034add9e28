// Synthetic stand-ins of the five datasets, in their real on-disk layouts, so the demo pipeline and the
// tests run end to end without licensed data. Images are obviously synthetic (coloured stripe patterns
// with noise), but class-dependent: the hue follows the 6-way emotion, the stripe frequency and angle the
// fine class, brightness the valence, so features survive a random-conv embedding and a head beats chance.
// Deterministic from the seed: same seed, same bytes.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { projectFile } from './project-files.js';
import { readSynonymFile } from './synonyms.js';
import { loadTaxonomy } from './taxonomy.js';

export interface SyntheticSizes {
  readonly webemo: number;
  readonly fi: number;
  readonly emotion6: number;
  readonly emotionroi: number;
  readonly iaps: number;
}

export const DEFAULT_SYNTHETIC_SIZES: SyntheticSizes = { webemo: 1500, fi: 240, emotion6: 180, emotionroi: 180, iaps: 120 };

/** The paper's dataset sizes (Sect. IV-A; WEBEmo: the release's 213,952 train + 53,489 test URLs). */
export const PAPER_SIZES: SyntheticSizes = { webemo: 267441, fi: 23308, emotion6: 8350, emotionroi: 1980, iaps: 1282 };
/** The sizes of a scale, with per-dataset overrides (`demo/synthetic-data`'s `scale` and `sizes`). */
export function syntheticSizes(scale: 'demo' | 'paper', overrides: Partial<SyntheticSizes> = {}): SyntheticSizes {
  return { ...(scale === 'paper' ? PAPER_SIZES : DEFAULT_SYNTHETIC_SIZES), ...overrides };
}

/** WEBEmo's test share in the release: 53,489 of 267,441 URLs (a hair over 1 in 5). */
const WEBEMO_TEST = { of: 267441, test: 53489 };

export interface SyntheticOptions {
  /** Output directory (created): `webemo/`, `fi/`, `emotion6/`, `emotionroi/`, `iaps/`, `captions/`, `synonyms/`. */
  readonly out: string;
  readonly seed: number;
  readonly sizes: SyntheticSizes;
  /** WEBEmo as the official release or the class-folder layout in `webemo/`, or both (folders in `webemo-folders/`). */
  readonly webemoLayout: 'official' | 'folders' | 'both';
  /** Share of WEBEmo URLs listed without a downloaded image (the release's dead links). */
  readonly missingUrlFraction: number;
  /**
   * Share of images drawn with the look of a random class (default 0.25): real labels are noisy, and
   * without it every head would score 100% and the demo's numbers would say nothing.
   */
  readonly hardFraction?: number;
  /**
   * At most this many distinct pictures per dataset and class look (default: every image painted). The
   * others reuse one of them with the image's own name in a JPEG comment, so every file still has its own
   * content hash (as in the real data) while the paper's 300k images take seconds instead of a quarter
   * of an hour: painting and encoding cost ~3 ms of CPU per image, a copy ~50 us. PNGs are always painted.
   */
  readonly distinctPerLook?: number;
  /** Called after every 1,000 images written and at the end. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface SyntheticReport {
  readonly out: string;
  readonly images: Readonly<Record<string, number>>;
  readonly missingUrls: number;
}

/** Mulberry32: a tiny seeded PRNG (deterministic across platforms, unlike Math.random). */
function rng(...parts: (string | number)[]): () => number {
  let a = createHash('sha256').update(parts.join('\0')).digest().readUInt32LE(0);
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Visual concept of a class: hue (degrees) of the 6-way emotion, valence, and a fine-class variant. */
interface Look {
  readonly hue: number;
  readonly positive: boolean;
  readonly variant: number;
}

const HUE: Readonly<Record<string, number>> = { anger: 0, fear: 275, joy: 52, love: 325, sadness: 215, surprise: 140, confusion: 180 };
const POSITIVE = new Set(['joy', 'love', 'surprise']);

function look(emotion6: string, variant: number): Look {
  return { hue: HUE[emotion6], positive: POSITIVE.has(emotion6), variant };
}

/** FI and EmotionROI classes drawn like their closest WEBEmo emotion, with their own stripe variant. */
const FI_LOOK: Readonly<Record<string, Look>> = {
  amusement: look('joy', 0),
  anger: look('anger', 0),
  awe: look('surprise', 1),
  contentment: look('joy', 2),
  disgust: look('anger', 3),
  excitement: look('joy', 4),
  fear: look('fear', 0),
  sadness: look('sadness', 0),
};
const ROI_LOOK: Readonly<Record<string, Look>> = {
  anger: look('anger', 0),
  disgust: look('anger', 3),
  fear: look('fear', 0),
  joy: look('joy', 0),
  sadness: look('sadness', 0),
  surprise: look('surprise', 0),
};

function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const f = (n: number): number => {
    const k = (n + h / 60) % 6;
    return v - v * s * Math.max(0, Math.min(k, 4 - k, 1));
  };
  return [f(5) * 255, f(3) * 255, f(1) * 255];
}

const SINE_STEPS = 4096;
const SINE = Float32Array.from({ length: SINE_STEPS }, (_, k) => 0.5 + 0.5 * Math.sin((2 * Math.PI * k) / SINE_STEPS));
/** Uniform noise in [-0.5, 0.5), drawn once; each image reads it from a random offset (fast, deterministic). */
const NOISE = (() => {
  const r = rng('pipe-synthetic-noise');
  return Float32Array.from({ length: 1 << 16 }, () => r() - 0.5);
})();

/** Raw RGB pixels: two class colours blended by an oriented stripe pattern, plus a blob and noise. */
function paint(l: Look, w: number, h: number, rand: () => number): Buffer {
  const hue = (l.hue + (rand() - 0.5) * 24 + 360) % 360;
  const v = l.positive ? 0.95 : 0.6;
  const [r1, g1, b1] = hsvToRgb(hue, 0.85, v);
  const [r2, g2, b2] = hsvToRgb((hue + 35) % 360, 0.45, v * 0.45);
  const freq = 3 + 4 * l.variant + rand() * 1.5;
  const angle = (l.variant * 37 + (rand() - 0.5) * 12) * (Math.PI / 180);
  // Stripe phase in table steps: linear in x and y, so the sine comes from a lookup table.
  const stepX = (freq * Math.cos(angle) * SINE_STEPS) / Math.max(w, h);
  const stepY = (freq * Math.sin(angle) * SINE_STEPS) / Math.max(w, h);
  const phase = rand() * SINE_STEPS;
  const bx = rand() * w;
  const by = rand() * h;
  const br2 = ((0.15 + rand() * 0.2) * Math.min(w, h)) ** 2;
  const noise = 28;
  let n = Math.floor(rand() * NOISE.length);
  const px = new Uint8ClampedArray(w * h * 3); // clamps and rounds on store
  let i = 0;
  for (let y = 0; y < h; y++) {
    const rowPhase = phase + y * stepY + SINE_STEPS * 64;
    for (let x = 0; x < w; x++) {
      let t = SINE[Math.floor(rowPhase + x * stepX) & (SINE_STEPS - 1)];
      const dx = x - bx;
      const dy = y - by;
      if (dx * dx + dy * dy < br2) t = 1 - t; // a "subject" blob with inverted stripes
      const d = NOISE[n++ & 0xffff] * noise;
      px[i++] = r1 * t + r2 * (1 - t) + d;
      px[i++] = g1 * t + g2 * (1 - t) + d;
      px[i++] = b1 * t + b2 * (1 - t) + d;
    }
  }
  return Buffer.from(px.buffer);
}

interface ImageJob {
  readonly path: string;
  readonly look: Look;
  readonly width: number;
  readonly height: number;
  readonly format: 'jpeg' | 'png';
  readonly key: string;
}

type Sharp = typeof import('sharp').default;

/** A JPEG with a comment segment (FF FE) right after SOI: same pixels, different bytes. */
function withComment(jpeg: Buffer, text: string): Buffer {
  const body = Buffer.from(text, 'utf8');
  const head = Buffer.from([0xff, 0xfe, (body.length + 2) >> 8, (body.length + 2) & 0xff]);
  return Buffer.concat([jpeg.subarray(0, 2), head, body, jpeg.subarray(2)]);
}

/** Encoded pictures shared by the images of one look (distinctPerLook), painted on first use. */
class PicturePool {
  private readonly pictures = new Map<string, Promise<Buffer>>();
  constructor(
    private readonly sharp: Sharp,
    private readonly seed: number,
    private readonly perLook: number,
  ) {}

  /** The image's bytes: one of the look's pictures chosen by the image's key, tagged with that key. */
  async bytes(j: ImageJob, dataset: string): Promise<Buffer> {
    const l = j.look;
    const slot = Math.floor(rng(this.seed, 'slot', j.key)() * this.perLook);
    const id = `${dataset}|${l.hue}|${l.positive}|${l.variant}|${j.width}x${j.height}|${slot}`;
    let p = this.pictures.get(id);
    if (!p) this.pictures.set(id, (p = encode(this.sharp, j, rng(this.seed, 'pixels', id))));
    return withComment(await p, j.key);
  }
}

function encode(sharp: Sharp, j: ImageJob, rand: () => number): Promise<Buffer> {
  const raw = paint(j.look, j.width, j.height, rand);
  const img = sharp(raw, { raw: { width: j.width, height: j.height, channels: 3 } });
  return (j.format === 'png' ? img.png() : img.jpeg({ quality: 85 })).toBuffer();
}

async function writeImages(sharp: Sharp, jobs: readonly ImageJob[], opts: SyntheticOptions): Promise<void> {
  const pool = opts.distinctPerLook ? new PicturePool(sharp, opts.seed, opts.distinctPerLook) : undefined;
  const dirs = new Set<string>();
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const j = jobs[next++];
      const dir = dirname(j.path);
      if (!dirs.has(dir)) {
        mkdirSync(dir, { recursive: true });
        dirs.add(dir);
      }
      const bytes = pool && j.format === 'jpeg' ? await pool.bytes(j, j.key.slice(0, j.key.indexOf(':'))) : await encode(sharp, j, rng(opts.seed, 'pixels', j.key));
      await writeFile(j.path, bytes);
      if (++done % 1000 === 0 || done === jobs.length) opts.onProgress?.(done, jobs.length);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
}

/** `n` class labels spread evenly over `classes`, shuffled deterministically. */
function spread(classes: readonly string[], n: number, rand: () => number): string[] {
  const out = Array.from({ length: n }, (_, i) => classes[i % classes.length]);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const SCENES: Readonly<Record<string, readonly string[]>> = {
  anger: ['a man shouting at a crowd', 'a clenched fist on a table', 'two drivers arguing in traffic'],
  fear: ['a dark corridor at night', 'a child hiding under a blanket', 'a storm over a lonely house'],
  joy: ['a kid sledding in snow at the mountain', 'friends laughing at a picnic', 'a dog running on a beach'],
  love: ['a couple holding hands at sunset', 'a mother hugging her baby', 'two friends sharing a hug'],
  sadness: ['an old man sitting alone on a bench', 'rain on a window', 'a wilted flower in a vase'],
  surprise: ['a woman opening a gift box', 'fireworks over a city', 'a cat jumping out of a box'],
  confusion: ['a man looking at a tangled map', 'a maze of street signs', 'a student staring at a blackboard'],
};

/** What every dataset's step shares: where it writes, the layout's random stream, and the image queue. */
interface Layout {
  readonly out: string;
  readonly opts: SyntheticOptions;
  /** One stream for the whole layout, drawn in dataset order: the steps' order decides every file's bytes. */
  readonly rand: () => number;
  /** Queues an image for `writeImages`; a share (`hardFraction`) is drawn with another class's look. */
  job(dataset: string, path: string, l: Look, w: number, h: number, format?: 'jpeg' | 'png'): void;
}

export async function generateSyntheticData(opts: SyntheticOptions): Promise<SyntheticReport> {
  const { default: sharp } = await import('sharp');
  const { out, seed } = opts;
  mkdirSync(out, { recursive: true });
  const jobs: ImageJob[] = [];
  const counts: Record<string, number> = {};
  const hard = opts.hardFraction ?? 0.25;
  const emotions = Object.keys(HUE).filter((e) => e !== 'confusion');
  const layout: Layout = {
    out,
    opts,
    rand: rng(seed, 'layout'),
    job(dataset, path, l, w, h, format = 'jpeg') {
      const r = rng(seed, 'hard', dataset, relative(out, path));
      const drawn = r() < hard ? look(emotions[Math.floor(r() * emotions.length)], Math.floor(r() * 4)) : l;
      jobs.push({ path, look: drawn, width: w, height: h, format, key: `${dataset}:${relative(out, path)}` });
      counts[dataset] = (counts[dataset] ?? 0) + 1;
    },
  };
  const { captions, missingUrls } = webemoLayout(layout);
  fiLayout(layout);
  emotion6Layout(layout);
  emotionRoiLayout(layout);
  iapsLayout(layout);
  writeCaptions(out, captions);
  writeText(
    join(out, 'README.txt'),
    `SYNTHETIC DATA generated by pipe (seed ${seed}). Coloured stripe patterns stand in for the photos of WEBEmo, FI,\n` +
      `Emotion-6, EmotionROI and IAPS, in their real on-disk layouts. Numbers computed on them say nothing about the paper.\n`,
  );

  await writeImages(sharp, jobs, opts);
  return { out, images: counts, missingUrls };
}

interface Caption {
  readonly id: string;
  readonly path: string;
  readonly caption: string;
}

/** WEBEmo: 220-px stock thumbnails (220x147 landscape or 146x220 portrait), 80/20 train/test, and their captions. */
function webemoLayout({ out, opts, rand, job }: Layout): { captions: Caption[]; missingUrls: number } {
  const w25 = loadTaxonomy('webemo25', { confusion: 'own' });
  const synonyms = readSynonymFile(projectFile('data', 'synonyms', 'webemo.yaml'), w25, 5).synonyms;
  const captions: Caption[] = [];
  const labels = spread(w25.classes.map((c) => c.id), opts.sizes.webemo, rand);
  const lines: Record<'train' | 'test', string[]> = { train: [], test: [] };
  const foldersDir = opts.webemoLayout === 'both' ? 'webemo-folders' : 'webemo';
  let missingUrls = 0;
  labels.forEach((cls, i) => {
    const parent = w25.parents.webemo6[cls];
    const siblings = w25.classes.filter((c) => w25.parents.webemo6[c.id] === parent).map((c) => c.id);
    const l = look(parent, siblings.indexOf(cls));
    const [w, h] = rand() < 0.7 ? [220, 147] : [146, 220];
    const split = isWebemoTest(i, labels.length) ? 'test' : 'train';
    const name = `syn-${String(i).padStart(6, '0')}`;
    const url = `https://stock.synthetic.invalid/photos/${name}.jpg`;
    lines[split].push(`${url} ${w25.classes.findIndex((c) => c.id === cls)}`);
    const dead = rand() < opts.missingUrlFraction;
    if (dead) missingUrls++;
    if (opts.webemoLayout !== 'folders' && !dead) job('webemo', join(out, 'webemo', 'images', `${name}.jpg`), l, w, h);
    if (opts.webemoLayout !== 'official') job(foldersDir, join(out, foldersDir, split, cls, `${name}.jpg`), l, w, h);
    const scenes = SCENES[parent];
    const syn = synonyms[cls];
    captions.push({ id: name, path: `images/${name}.jpg`, caption: `${scenes[i % scenes.length]}, with a feeling of ${syn[i % syn.length]}` });
  });
  if (opts.webemoLayout !== 'folders') {
    writeText(join(out, 'webemo', 'train25.txt'), lines.train.join('\n') + '\n');
    writeText(join(out, 'webemo', 'test25.txt'), lines.test.join('\n') + '\n');
    writeText(join(out, 'webemo', 'category.txt'), w25.classes.map((c, i) => `${i} ${c.id} ${w25.parents.webemo6[c.id]} ${w25.parents.webemo2[c.id]}`).join('\n') + '\n');
  }
  return { captions, missingUrls };
}

/** FI: emotion_dataset/<class>/, a few PNGs among the JPEGs. */
function fiLayout({ out, opts, rand, job }: Layout): void {
  spread(Object.keys(FI_LOOK), opts.sizes.fi, rand).forEach((cls, i) => {
    const png = i % 10 === 7;
    job('fi', join(out, 'fi', 'emotion_dataset', cls, `${cls}_${String(i).padStart(4, '0')}.${png ? 'png' : 'jpg'}`), FI_LOOK[cls], 160, 120, png ? 'png' : 'jpeg');
  });
}

/** Emotion-6: images/<primary>/<secondary>/, with the archive's `digust` typo folder. */
function emotion6Layout({ out, opts, rand, job }: Layout): void {
  const secondaries: Readonly<Record<string, readonly string[]>> = {
    anger: ['digust', 'envy', 'rage'],
    fear: ['horror', 'nervousness'],
    joy: ['cheerfulness', 'contentment'],
    love: ['affection', 'lust'],
    sadness: ['neglect', 'suffering'],
    surprise: ['amazement', 'astonishment'],
  };
  const perPrimary: Record<string, number> = {};
  spread(Object.keys(secondaries), opts.sizes.emotion6, rand).forEach((cls, i) => {
    const k = (perPrimary[cls] = (perPrimary[cls] ?? -1) + 1);
    const sub = secondaries[cls][k % secondaries[cls].length];
    job('emotion6', join(out, 'emotion6', 'images', cls, sub, `${i + 1}.jpg`), look(cls, 0), 180, 135);
  });
}

/** EmotionROI: images/<class>/<n>.jpg + training_testing_split/{training,testing}.txt (`class/file`). */
function emotionRoiLayout({ out, opts, rand, job }: Layout): void {
  const roi: Record<'training' | 'testing', string[]> = { training: [], testing: [] };
  spread(Object.keys(ROI_LOOK), opts.sizes.emotionroi, rand).forEach((cls, i) => {
    const file = `${i + 1}.jpg`;
    job('emotionroi', join(out, 'emotionroi', 'images', cls, file), ROI_LOOK[cls], 150, 150);
    roi[i % 5 < 3 ? 'training' : 'testing'].push(`${cls}/${file}`);
  });
  writeText(join(out, 'emotionroi', 'training_testing_split', 'training.txt'), roi.training.join('\n') + '\n');
  writeText(join(out, 'emotionroi', 'training_testing_split', 'testing.txt'), roi.testing.join('\n') + '\n');
}

/** IAPS: <label>/<picture id>.jpg and a ratings table (mean valence on the 1-9 scale). */
function iapsLayout({ out, opts, rand, job }: Layout): void {
  const ratings = ['IAPS\tdesc\tvalmn\tvalsd\taromn\tarosd'];
  spread(['negative', 'positive'], opts.sizes.iaps, rand).forEach((cls, i) => {
    const id = i % 9 === 4 ? `${1000 + i * 7}.${1 + (i % 3)}` : String(1000 + i * 7);
    const positive = cls === 'positive';
    const emotion = positive ? ['joy', 'love', 'surprise'][i % 3] : ['anger', 'fear', 'sadness'][i % 3];
    job('iaps', join(out, 'iaps', cls, `${id}.jpg`), look(emotion, 0), 128, 96);
    const valence = positive ? 5.5 + rand() * 3 : 1.5 + rand() * 3;
    ratings.push(`${id}\tSynthetic${i}\t${valence.toFixed(2)}\t1.50\t${(3 + rand() * 4).toFixed(2)}\t2.10`);
  });
  writeText(join(out, 'iaps', 'ratings.txt'), ratings.join('\n') + '\n');
}

/** Captions (as an OFA run would give them): JSONL keyed by path, CSV keyed by id; and the synonym table. */
function writeCaptions(out: string, captions: readonly Caption[]): void {
  writeText(join(out, 'captions', 'webemo.jsonl'), captions.map((c) => JSON.stringify({ path: c.path, caption: c.caption })).join('\n') + '\n');
  writeText(join(out, 'captions', 'webemo.csv'), 'id,caption\n' + captions.map((c) => `${c.id},"${c.caption.replace(/"/g, '""')}"`).join('\n') + '\n');
  writeText(join(out, 'synonyms', 'webemo.yaml'), readFileSync(projectFile('data', 'synonyms', 'webemo.yaml'), 'utf8'));
}

/**
 * WEBEmo's test images: the release's share (53,489 of 267,441), spread evenly, in integer arithmetic.
 * A size that is a multiple of 5 below ~130k (the demo's, the tests') gets exactly every fifth image,
 * as the generator always gave it, so their bytes do not change; the paper's size gets 53,489.
 */
export function isWebemoTest(i: number, n: number): boolean {
  const t = Math.round((n * WEBEMO_TEST.test) / WEBEMO_TEST.of);
  return Math.floor(((i + 1) * t) / n) > Math.floor((i * t) / n);
}

function writeText(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}
