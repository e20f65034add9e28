// `npm run bench:embed`: images/s of the clip/embed-images stage on a full-size ViT-B/32 vision model with
// random weights (generated: exact CLIP architecture, 224x224, 512-d), over two sets of generated JPEGs
// ("mixed": 220x147 thumbnails up to 1600x1200; "thumbs": WEBEmo-like 220x147 / 146x220 only, always
// upsampled), side by side in the same run with
//   (a) the ceiling: the bare onnxruntime session on pre-made tensors at the same batch size;
//   (b) @huggingface/transformers (transformers.js) on the same local folder and files, two ways:
//       batched (AutoImageProcessor + CLIPVisionModelWithProjection, B images per call) and the way its
//       docs show, one image per call of pipeline('image-feature-extraction').
// Flags: --images N (default 512 per set), --batch B (default 32), --workers W (stage preprocessing
// threads), --single N (images for the one-per-call transformers.js run, default 128), --skip-tjs,
// --profile (per image size: milliseconds of decode, horizontal pass, vertical pass, normalise; no model).
// Model and images are generated once into bench/.work/ (git-ignored).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { decodeRgb, loadSharp } from '../src/clip/decode.js';
import { generateClipModel, VIT_B32 } from '../src/clip/generate.js';
import { loadClipModel } from '../src/clip/model.js';
import { normalize, parsePreprocessConfig, resizeAndCrop, resizedSize, type PreprocessConfig } from '../src/clip/preprocess.js';
import { resizeBicubic } from '../src/clip/resample.js';
import type { ManifestRow } from '../src/formats.js';
import { writeJsonl } from '../src/io/jsonl.js';
import embedImagesStage from '../stages/clip/embed-images.js';
import { benchStageContext, hashOnce } from './stage-context.js';

const args = process.argv.slice(2);
const arg = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const N = arg('images', 512);
const B = arg('batch', 32);
const WORKERS = args.includes('--workers') ? arg('workers', 1) : undefined;
const SINGLE = arg('single', 128);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', '.work');
const MODEL = join(ROOT, 'vit-b32');

interface ImageSet {
  readonly name: string;
  readonly dir: string;
  readonly sizes: readonly (readonly [number, number])[];
}
const SETS: readonly ImageSet[] = [
  { name: 'mixed', dir: join(ROOT, 'images'), sizes: [[220, 147], [146, 220], [640, 480], [480, 640], [1024, 768], [800, 800], [1600, 1200], [300, 200]] },
  // WEBEmo (the paper's 267k training images) is only such thumbnails: every one is upsampled to 224.
  { name: 'thumbs', dir: join(ROOT, 'thumbs'), sizes: [[220, 147], [146, 220]] },
];

/** Photo-like JPEGs: smooth colour fields, edges and noise, cycling through the set's sizes. */
async function makeImages(set: ImageSet): Promise<string[]> {
  const sharp = (await import('sharp')).default;
  mkdirSync(set.dir, { recursive: true });
  const have = new Set(readdirSync(set.dir));
  const out: string[] = [];
  for (let i = 0; i < N; i++) {
    const name = `img-${String(i).padStart(5, '0')}.jpg`;
    out.push(join(set.dir, name));
    if (have.has(name)) continue;
    const [w, h] = set.sizes[i % set.sizes.length];
    const raw = Buffer.alloc(w * h * 3);
    let s = i * 2654435761 + 1;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      s = (s * 1103515245 + 12345) >>> 0;
      const o = (y * w + x) * 3;
      const n = (s >>> 24) & 15;
      raw[o] = (128 + 100 * Math.sin((x + i * 7) / (20 + (i % 13))) + n) & 255;
      raw[o + 1] = (128 + 100 * Math.cos((y + i * 3) / (15 + (i % 7))) + n) & 255;
      raw[o + 2] = ((x * y) / (w + h) + i * 11 + n) & 255;
    }
    await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 88 }).toFile(join(set.dir, name));
  }
  return out;
}

/** Wall-clock rate, and CPU seconds per image over all threads of this process (ORT, workers, main). */
interface Rate {
  readonly perSec: number;
  readonly cpuPerImage: number;
}

function measure<T>(n: number, body: () => Promise<T>): Promise<Rate> {
  const cpu = process.cpuUsage();
  const t = performance.now();
  return body().then(() => {
    const used = process.cpuUsage(cpu);
    return { perSec: n / ((performance.now() - t) / 1000), cpuPerImage: (used.user + used.system) / 1e6 / n };
  });
}

async function ceiling(spinning: boolean): Promise<Rate> {
  const model = await loadClipModel(MODEL, { towers: ['vision'], spinning });
  const px = new Float32Array(B * 3 * 224 * 224).map((_, i) => Math.sin(i) * 1.5);
  await model.embedPixels(px, B); // warm-up
  const rate = await measure(N, async () => {
    for (let done = 0; done < N; done += B) await model.embedPixels(px, Math.min(B, N - done));
  });
  await model.release();
  return rate;
}

async function stage(files: string[]): Promise<Rate> {
  const dir = join(ROOT, 'stage-run');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // The manifest is the ingest stage's output (hashes included), so it is made outside the timing.
  const rows: ManifestRow[] = files.map((path, i) => ({ id: String(i), path, hash: hashOnce(path), split: 'test', labels: {} }));
  hashOnce(join(MODEL, 'onnx', 'vision_model.onnx'));
  hashOnce(join(MODEL, 'preprocessor_config.json'));
  writeJsonl(join(dir, 'manifest.jsonl'), rows);
  const ctx = benchStageContext(embedImagesStage, { manifest: join(dir, 'manifest.jsonl'), model: MODEL, dtype: 'fp32', provider: 'cpu', batch_size: B, on_error: 'fail', workers: WORKERS, exif_transpose: false }, dir, 'bench-embed');
  const rate = await measure(N, () => embedImagesStage.run(ctx));
  rmSync(dir, { recursive: true, force: true });
  return rate;
}

interface TjsTensor { readonly dims: number[] }
interface TjsModule {
  env: { allowRemoteModels: boolean; localModelPath: string };
  AutoImageProcessor: { from_pretrained(id: string): Promise<(images: unknown[]) => Promise<{ pixel_values: TjsTensor }>> };
  CLIPVisionModelWithProjection: { from_pretrained(id: string, o: object): Promise<((inputs: object) => Promise<{ image_embeds: TjsTensor }>) & { dispose(): Promise<void> }> };
  RawImage: { read(path: string): Promise<unknown> };
  pipeline(task: 'image-feature-extraction', id: string, o: object): Promise<((image: string) => Promise<TjsTensor>) & { dispose(): Promise<void> }>;
}

async function loadTjs(): Promise<TjsModule> {
  const tjs = (await import('@huggingface/transformers')) as unknown as TjsModule;
  tjs.env.allowRemoteModels = false;
  tjs.env.localModelPath = ROOT + '/';
  return tjs;
}

/** transformers.js batched: B images per processor and model call. */
async function transformersJsBatched(files: string[]): Promise<Rate> {
  const tjs = await loadTjs();
  const processor = await tjs.AutoImageProcessor.from_pretrained('vit-b32');
  const model = await tjs.CLIPVisionModelWithProjection.from_pretrained('vit-b32', { dtype: 'fp32', device: 'cpu' });
  const rate = await measure(files.length, async () => {
    for (let i = 0; i < files.length; i += B) {
      const images = await Promise.all(files.slice(i, i + B).map((f) => tjs.RawImage.read(f)));
      const { pixel_values } = await processor(images);
      const { image_embeds } = await model({ pixel_values });
      if (image_embeds.dims[1] !== 512) throw new Error(`transformers.js returned ${image_embeds.dims}`);
    }
  });
  await model.dispose();
  return rate;
}

/**
 * transformers.js as its docs show it: pipeline('image-feature-extraction') called once per image path. On
 * this folder it loads CLIPVisionModelWithProjection and returns last_hidden_state, computed by the same
 * session run as image_embeds, so the work per image is the batched form's at batch 1.
 */
async function transformersJsPerImage(files: string[]): Promise<Rate> {
  const tjs = await loadTjs();
  const extract = await tjs.pipeline('image-feature-extraction', 'vit-b32', { dtype: 'fp32', device: 'cpu', model_file_name: 'vision_model' });
  await extract(files[0]); // warm-up, as the batched and ceiling runs have
  const rate = await measure(files.length, async () => {
    for (const f of files) {
      const out = await extract(f);
      if (out.dims[0] !== 1) throw new Error(`transformers.js returned ${out.dims}`);
    }
  });
  await extract.dispose();
  return rate;
}

/** Milliseconds per image of each preprocessing step, by image size, in this thread (no model). */
async function profile(set: ImageSet, files: string[], cfg: PreprocessConfig): Promise<void> {
  await loadSharp(1);
  const steps = new Map<string, { n: number; read: number; decode: number; total: number; h: number; norm: number }>();
  // Two passes: the first warms the JIT and the coefficient cache, as a long run does; the second is timed.
  for (let pass = 0; pass < 2; pass++) {
    for (const f of files) {
      let t = performance.now();
      const buf = readFileSync(f);
      const read = performance.now() - t;
      t = performance.now();
      const img = await decodeRgb(buf);
      const decode = performance.now() - t;
      t = performance.now();
      const crop = resizeAndCrop(img, cfg);
      const total = performance.now() - t;
      // The horizontal pass alone: the crop's columns over all input rows (the vertical pass reads them all
      // for landscape images, about 224/long-side of them for portrait ones, so this overstates those).
      const size = resizedSize(img.width, img.height, cfg.shortestEdge);
      t = performance.now();
      resizeBicubic(img, size.width, img.height, { left: Math.floor((size.width - cfg.cropWidth) / 2), top: 0, width: cfg.cropWidth, height: img.height });
      const h = performance.now() - t;
      t = performance.now();
      normalize(crop, cfg);
      const norm = performance.now() - t;
      if (pass === 0) continue;
      const key = `${img.width}x${img.height}`;
      const e = steps.get(key) ?? { n: 0, read: 0, decode: 0, total: 0, h: 0, norm: 0 };
      steps.set(key, { n: e.n + 1, read: e.read + read, decode: e.decode + decode, total: e.total + total, h: e.h + h, norm: e.norm + norm });
    }
  }
  const ms = (v: number, n: number) => (v / n).toFixed(2).padStart(6);
  console.log(`[${set.name}] ms/image  size       read  decode  resize (horizontal, vertical)  normalise`);
  let all = { n: 0, read: 0, decode: 0, total: 0, h: 0, norm: 0 };
  for (const [key, e] of steps) {
    console.log(`[${set.name}]            ${key.padEnd(9)} ${ms(e.read, e.n)} ${ms(e.decode, e.n)} ${ms(e.total, e.n)} (${ms(e.h, e.n)}, ${ms(e.total - e.h, e.n)})    ${ms(e.norm, e.n)}`);
    all = { n: all.n + e.n, read: all.read + e.read, decode: all.decode + e.decode, total: all.total + e.total, h: all.h + e.h, norm: all.norm + e.norm };
  }
  console.log(`[${set.name}]            mean      ${ms(all.read, all.n)} ${ms(all.decode, all.n)} ${ms(all.total, all.n)} (${ms(all.h, all.n)}, ${ms(all.total - all.h, all.n)})    ${ms(all.norm, all.n)}`);
}

const fmt = (r: Rate) => `${r.perSec.toFixed(2)} images/s, ${r.cpuPerImage.toFixed(3)} CPU s/image`;
const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(1)}%`;
const mean = (rs: Rate[]): Rate => ({ perSec: rs.reduce((a, r) => a + r.perSec, 0) / rs.length, cpuPerImage: rs.reduce((a, r) => a + r.cpuPerImage, 0) / rs.length });

interface SetResult {
  readonly set: ImageSet;
  readonly stage: Rate;
  readonly tjs: readonly (readonly [string, Rate])[];
}

/** One image set: the stage twice around transformers.js (batched, then one image per call). */
async function benchSet(set: ImageSet, files: string[]): Promise<SetResult> {
  const tag = `[${set.name}]`;
  const s1 = await stage(files);
  console.log(`${tag} clip/embed-images stage, run 1 (decode+preprocess+embed+write, incl. model load): ${fmt(s1)}`);
  if (args.includes('--skip-tjs')) return { set, stage: s1, tjs: [] };
  const jb = await transformersJsBatched(files);
  console.log(`${tag} (b) transformers.js batched (AutoImageProcessor + CLIPVisionModelWithProjection, ${B} per call): ${fmt(jb)}`);
  const single = files.slice(0, SINGLE);
  const js = await transformersJsPerImage(single);
  console.log(`${tag} (b) transformers.js one image per call (pipeline('image-feature-extraction'), ${single.length} images): ${fmt(js)}`);
  const s2 = await stage(files);
  console.log(`${tag} clip/embed-images stage, run 2: ${fmt(s2)}`);
  return { set, stage: mean([s1, s2]), tjs: [['batched', jb], ['one image per call', js]] };
}

async function main(): Promise<void> {
  const sets = await Promise.all(SETS.map(async (set) => ({ set, files: await makeImages(set) })));
  if (args.includes('--profile')) {
    const cfg = parsePreprocessConfig(JSON.parse(readFileSync(join(MODEL, 'preprocessor_config.json'), 'utf8')));
    for (const { set, files } of sets) await profile(set, files, cfg);
    return;
  }
  if (!existsSync(join(MODEL, 'onnx', 'vision_model.onnx'))) {
    const t = performance.now();
    generateClipModel(MODEL, { arch: VIT_B32, towers: ['vision'], seed: 0 });
    console.log(`generated ViT-B/32 vision model (random weights) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  console.log(`machine: ${cpus()[0]?.model ?? '?'} x${availableParallelism()}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
  console.log(`${N} JPEGs per set (mixed: 220x147 .. 1600x1200; thumbs: 220x147 / 146x220), batch ${B}, stage workers ${WORKERS ?? 'default'}`);
  // The machine is shared and noisy: the ceiling is measured before, between and after the sets and the
  // best of its runs taken (onnxruntime's default spinning threads and the stage's setting, no spinning);
  // transformers.js runs between two stage runs. Besides wall-clock rates, CPU seconds per image (all
  // threads of the process) compare the work each approach does per image, which others' load changes less.
  const ceilings: Rate[] = [];
  const ceilingRun = async (spinning: boolean) => {
    const c = await ceiling(spinning);
    ceilings.push(c);
    console.log(`(a) ceiling, bare onnxruntime on pre-made tensors, ${spinning ? 'spinning threads' : 'no spinning'}: ${fmt(c)}`);
  };
  await ceilingRun(true);
  await ceilingRun(false);
  const results: SetResult[] = [];
  for (const { set, files } of sets) {
    results.push(await benchSet(set, files));
    await ceilingRun(false);
  }
  const ceil = { perSec: Math.max(...ceilings.map((c) => c.perSec)), cpuPerImage: Math.min(...ceilings.map((c) => c.cpuPerImage)) };
  console.log(`best ceiling: ${fmt(ceil)}`);
  for (const { set, stage: st, tjs } of results) {
    const tag = `[${set.name}]`;
    console.log(`${tag} stage (mean of its runs): ${fmt(st)}; / ceiling: ${pct(st.perSec, ceil.perSec)} of images/s, ${pct(ceil.cpuPerImage, st.cpuPerImage)} CPU efficiency (goal >= 85%)`);
    for (const [name, j] of tjs) {
      console.log(`${tag} stage / transformers.js ${name}: ${(st.perSec / j.perSec).toFixed(2)}x images/s, ${(j.cpuPerImage / st.cpuPerImage).toFixed(2)}x less CPU per image (goal >= 1.5x)`);
    }
  }
  console.log(`peak RSS of the benchmark process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
}

await main();
