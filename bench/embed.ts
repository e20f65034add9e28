// `npm run bench:embed`: images/s of the clip/embed-images stage on a full-size ViT-B/32 vision model with
// random weights (generated: exact CLIP architecture, 224x224, 512-d), over generated JPEGs of mixed sizes,
// side by side in the same run with
//   (a) the ceiling: the bare onnxruntime session on pre-made tensors at the same batch size;
//   (b) @huggingface/transformers (transformers.js): AutoImageProcessor + CLIPVisionModelWithProjection on
//       the same local folder and files, batch by batch.
// Flags: --images N (default 512), --batch B (default 32), --workers W (stage preprocessing threads),
// --skip-tjs. Model and images are generated once into bench/.work/ (git-ignored).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { generateClipModel, VIT_B32 } from '../src/clip/generate.js';
import { loadClipModel } from '../src/clip/model.js';
import type { ManifestRow } from '../src/formats.js';
import { writeJsonl } from '../src/io/jsonl.js';
import type { StageContext } from '../src/stage-api.js';
import embedImagesStage, { type EmbedImagesParams } from '../stages/clip/embed-images.js';

const args = process.argv.slice(2);
const arg = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const N = arg('images', 512);
const B = arg('batch', 32);
const WORKERS = args.includes('--workers') ? arg('workers', 1) : undefined;
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', '.work');
const MODEL = join(ROOT, 'vit-b32');
const IMAGES = join(ROOT, 'images');

/** Photo-like JPEGs: smooth colour fields, edges and noise; sizes from WEBEmo thumbnails to 1600 px. */
async function makeImages(): Promise<string[]> {
  const sharp = (await import('sharp')).default;
  mkdirSync(IMAGES, { recursive: true });
  const sizes = [[220, 147], [146, 220], [640, 480], [480, 640], [1024, 768], [800, 800], [1600, 1200], [300, 200]];
  const have = new Set(readdirSync(IMAGES));
  const out: string[] = [];
  for (let i = 0; i < N; i++) {
    const name = `img-${String(i).padStart(5, '0')}.jpg`;
    out.push(join(IMAGES, name));
    if (have.has(name)) continue;
    const [w, h] = sizes[i % sizes.length];
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
    await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 88 }).toFile(join(IMAGES, name));
  }
  return out;
}

/** Content hashes as the engine's stat-keyed cache serves them: computed once, before any timing. */
const hashes = new Map<string, string>();
function hashOnce(path: string): string {
  let h = hashes.get(path);
  if (!h) hashes.set(path, (h = createHash('sha256').update(readFileSync(path)).digest('hex')));
  return h;
}

function stageContext(params: EmbedImagesParams, dir: string): StageContext<EmbedImagesParams> {
  mkdirSync(join(dir, 'out'), { recursive: true });
  return {
    params,
    matrix: {},
    instanceId: 'bench-embed',
    workspace: dir,
    run: { id: 0, pipelineFile: '(bench)', pipelineHash: '', codeVersion: '(bench)' },
    output: (name) => join(dir, 'out', embedImagesStage.outputs[name].path),
    resumeDir: join(dir, 'resume'),
    kindCacheDir: join(dir, 'cache'),
    signal: new AbortController().signal,
    log: () => undefined,
    progress: () => undefined,
    metric: () => undefined,
    hashFiles: async (paths) => paths.map(hashOnce),
  };
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
  const ctx = stageContext({ manifest: join(dir, 'manifest.jsonl'), model: MODEL, dtype: 'fp32', provider: 'cpu', batch_size: B, on_error: 'fail', workers: WORKERS }, dir);
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
}

async function transformersJs(files: string[]): Promise<Rate> {
  const tjs = (await import('@huggingface/transformers')) as unknown as TjsModule;
  tjs.env.allowRemoteModels = false;
  tjs.env.localModelPath = ROOT + '/';
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

async function main(): Promise<void> {
  if (!existsSync(join(MODEL, 'onnx', 'vision_model.onnx'))) {
    const t = performance.now();
    generateClipModel(MODEL, { arch: VIT_B32, towers: ['vision'], seed: 0 });
    console.log(`generated ViT-B/32 vision model (random weights) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  const files = await makeImages();
  console.log(`machine: ${cpus()[0]?.model ?? '?'} x${availableParallelism()}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
  console.log(`${N} JPEGs (220x147 .. 1600x1200), batch ${B}, stage workers ${WORKERS ?? 'default'}`);
  // The machine is shared and noisy: the ceiling is measured before and after the stage, transformers.js
  // between two stage runs; besides wall-clock rates, CPU seconds per image (all threads of the process)
  // compare the work each approach does per image, which other people's load does not change.
  const fmt = (r: Rate) => `${r.perSec.toFixed(2)} images/s, ${r.cpuPerImage.toFixed(3)} CPU s/image`;
  // The ceiling takes the better of onnxruntime's default (spinning threads) and the stage's setting.
  const c1 = await ceiling(true);
  console.log(`(a) ceiling, bare onnxruntime on pre-made tensors, spinning threads: ${fmt(c1)}`);
  const s1 = await stage(files);
  console.log(`clip/embed-images stage, run 1 (decode+preprocess+embed+write, incl. model load): ${fmt(s1)}`);
  const c2 = await ceiling(false);
  console.log(`(a) ceiling again, no spinning: ${fmt(c2)}`);
  const ceil = { perSec: Math.max(c1.perSec, c2.perSec), cpuPerImage: Math.min(c1.cpuPerImage, c2.cpuPerImage) };
  console.log(`stage / ceiling: ${((100 * s1.perSec) / ceil.perSec).toFixed(1)}% of images/s, ${((100 * ceil.cpuPerImage) / s1.cpuPerImage).toFixed(1)}% CPU efficiency`);
  if (!args.includes('--skip-tjs')) {
    const j = await transformersJs(files);
    console.log(`(b) transformers.js CLIPVisionModelWithProjection + AutoImageProcessor: ${fmt(j)}`);
    const s2 = await stage(files);
    console.log(`clip/embed-images stage, run 2: ${fmt(s2)}`);
    const st = { perSec: (s1.perSec + s2.perSec) / 2, cpuPerImage: (s1.cpuPerImage + s2.cpuPerImage) / 2 };
    console.log(`stage / transformers.js: ${(st.perSec / j.perSec).toFixed(2)}x images/s, ${(j.cpuPerImage / st.cpuPerImage).toFixed(2)}x less CPU per image`);
  }
  console.log(`peak RSS of the benchmark process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
}

await main();
