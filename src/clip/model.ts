// Loading a CLIP model folder in the Hugging Face ONNX layout (`onnx/vision_model.onnx`,
// `onnx/text_model.onnx` + dtype variants, `tokenizer.json`, `preprocessor_config.json`, `config.json`)
// into onnxruntime-node sessions. Input/output names and element types come from the sessions, not from
// assumptions, so exports with or without `attention_mask` and float16 variants all work.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { StageError } from '../stage-api.js';
import { float32ToHalf, halfToFloat32 } from './half.js';
import { parsePreprocessConfig, PREPROCESS_VERSION, type PreprocessConfig } from './preprocess.js';
import { loadClipTokenizer, padBatch, TOKENIZE_VERSION, tokenizerConfigPath, type ClipTokenizer } from './tokenizer.js';

/** Hugging Face file-name suffixes of the ONNX variants (as transformers.js names its `dtype`s). */
export const DTYPE_SUFFIX = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
} as const;
export type ClipDtype = keyof typeof DTYPE_SUFFIX;
export const CLIP_DTYPES = Object.keys(DTYPE_SUFFIX) as ClipDtype[];
export type ClipProvider = 'cpu' | 'cuda';
export const CLIP_PROVIDERS: readonly ClipProvider[] = ['cpu', 'cuda'];
export type Tower = 'vision' | 'text';

/** A model folder problem: names the file and what to do about it. */
export class ModelFolderError extends StageError {}

export interface ClipModelFiles {
  readonly dir: string;
  readonly vision: string;
  readonly text: string;
  readonly tokenizer: string;
  readonly preprocessor: string;
  readonly config: string;
}

export function modelFiles(dir: string, dtype: ClipDtype = 'fp32'): ClipModelFiles {
  const s = DTYPE_SUFFIX[dtype];
  return {
    dir,
    vision: join(dir, 'onnx', `vision_model${s}.onnx`),
    text: join(dir, 'onnx', `text_model${s}.onnx`),
    tokenizer: join(dir, 'tokenizer.json'),
    preprocessor: join(dir, 'preprocessor_config.json'),
    config: join(dir, 'config.json'),
  };
}

const FETCH_HINT = 'Download a model folder with `pipe model fetch Xenova/clip-vit-base-patch32` (see docs/clip.md), or generate a test one with the clip/tiny-model stage.';

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (e) {
    throw new ModelFolderError(`${path}: not valid JSON (${(e as Error).message})`, 'The file is damaged; fetch the model folder again.');
  }
}

/** Checks that the files the given towers need exist and parse; says exactly which one is missing. */
export function validateModelFolder(dir: string, dtype: ClipDtype, towers: readonly Tower[]): ClipModelFiles {
  if (!existsSync(dir)) throw new ModelFolderError(`model folder ${dir} does not exist`, FETCH_HINT);
  const f = modelFiles(dir, dtype);
  const need = [f.config, ...(towers.includes('vision') ? [f.preprocessor, f.vision] : []), ...(towers.includes('text') ? [f.tokenizer, f.text] : [])];
  for (const path of need) {
    if (!existsSync(path)) {
      const variant = path.endsWith('.onnx') && dtype !== 'fp32' ? ` (dtype ${dtype}; the folder may hold only other variants)` : '';
      throw new ModelFolderError(`model folder ${dir}: missing ${path.slice(dir.length + 1)}${variant}`, FETCH_HINT);
    }
    if (path.endsWith('.json')) readJson(path);
  }
  return f;
}

/** sha256 of a file, streamed (model files are hundreds of MB). */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * The model part of an embedding cache key: the tower's ONNX file and the files that shape its input
 * (preprocessor config; tokenizer.json and tokenizer_config.json).
 * `hashFiles` lets stages use the engine's stat-keyed hash cache instead of re-reading 350 MB.
 */
export async function towerHash(
  files: ClipModelFiles,
  tower: Tower,
  hashFiles: (paths: readonly string[]) => Promise<string[]> = (p) => Promise.all(p.map(sha256File)),
): Promise<string> {
  // tokenizer_config.json is optional but, when present, configures the tokenizer (and its context length).
  const tokConfig = tokenizerConfigPath(files.dir);
  const paths = tower === 'vision' ? [files.vision, files.preprocessor] : [files.text, files.tokenizer, ...(existsSync(tokConfig) ? [tokConfig] : [])];
  const hashes = await hashFiles(paths);
  const extra = tower === 'vision' ? PREPROCESS_VERSION : TOKENIZE_VERSION;
  return createHash('sha256').update([tower, ...hashes, extra].join('\n')).digest('hex');
}

export interface LoadOptions {
  readonly dtype?: ClipDtype;
  readonly provider?: ClipProvider;
  readonly towers?: readonly Tower[];
  /** onnxruntime intra-op threads (default: all cores). */
  readonly threads?: number;
  /**
   * Let idle onnxruntime threads spin-wait (onnxruntime's default). Off by default: spinning threads take
   * the cores that the preprocessing workers need between batches (measured: bench:embed, BENCHMARKS.md).
   */
  readonly spinning?: boolean;
}

type Ort = typeof import('onnxruntime-node');

async function createSession(ort: Ort, path: string, provider: ClipProvider, threads: number, spinning: boolean): Promise<InferenceSession> {
  if (provider !== 'cpu') {
    const known = ort.listSupportedBackends().find((b) => b.name === provider);
    if (!known) throw new ModelFolderError(`execution provider "${provider}" is not supported by this onnxruntime-node build`, 'Use provider: cpu.');
  }
  try {
    return await ort.InferenceSession.create(path, {
      executionProviders: [provider],
      intraOpNumThreads: threads,
      graphOptimizationLevel: 'all',
      extra: { session: { intra_op: { allow_spinning: spinning ? '1' : '0' }, inter_op: { allow_spinning: spinning ? '1' : '0' } } },
    });
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    if (provider === 'cuda') {
      throw new ModelFolderError(
        `execution provider "cuda" is not available: ${msg}`,
        'Install onnxruntime-node with its CUDA binaries: `npm install onnxruntime-node --onnxruntime-node-install=cuda12` (needs CUDA 12 + cuDNN 9 on the library path; see docs/clip.md), or use provider: cpu.',
      );
    }
    throw new ModelFolderError(`${path}: onnxruntime cannot load it (${msg})`, 'The file is damaged or not an ONNX model; fetch the model folder again.');
  }
}

function tensorInfo(session: InferenceSession, name: string): { type: string; dims: readonly (number | string)[] } {
  const m = session.inputMetadata.find((x) => x.name === name) ?? session.outputMetadata.find((x) => x.name === name);
  if (!m || !m.isTensor) return { type: 'float32', dims: [] };
  return { type: m.type, dims: m.shape };
}

function pick(names: readonly string[], wanted: string, file: string): string {
  if (names.includes(wanted)) return wanted;
  throw new ModelFolderError(`${file}: has no "${wanted}" (found ${names.join(', ')})`, 'Use a CLIP export with split vision/text models in the Hugging Face ONNX layout.');
}

export interface ClipModel {
  readonly files: ClipModelFiles;
  readonly dtype: ClipDtype;
  readonly provider: ClipProvider;
  /** Output width of the projections (512 for ViT-B/32). */
  readonly embedDim: number;
  /** Present when the vision tower is loaded. */
  readonly preprocess?: PreprocessConfig;
  /** [3, H, W] of one preprocessed image ([3, 0, 0] without the vision tower). */
  readonly imageShape: readonly [number, number, number];
  /** Unnormalised `image_embeds` of `n` preprocessed images laid out back to back. */
  embedPixels(pixels: Float32Array, n: number): Promise<Float32Array>;
  /** Unnormalised `text_embeds`, one row per text (batched internally). */
  embedTexts(texts: readonly string[], batchSize?: number): Promise<Float32Array>;
  readonly tokenizer?: ClipTokenizer;
  release(): Promise<void>;
}

/** `projection_dim` of config.json (the embedding width; 512 for ViT-B/32). */
export function configEmbedDim(files: ClipModelFiles): number {
  const c = readJson(files.config) as { projection_dim?: unknown };
  if (typeof c?.projection_dim !== 'number') throw new ModelFolderError(`${files.config}: field "projection_dim" must be a number`, 'Fetch the model folder again.');
  return c.projection_dim;
}

/** Loads the towers of a model folder (both by default) with the chosen dtype and execution provider. */
export async function loadClipModel(dir: string, opts: LoadOptions = {}): Promise<ClipModel> {
  const dtype = opts.dtype ?? 'fp32';
  const provider = opts.provider ?? 'cpu';
  if (!CLIP_DTYPES.includes(dtype)) throw new ModelFolderError(`unknown dtype "${dtype}"`, `Use one of ${CLIP_DTYPES.join(', ')}.`);
  if (!CLIP_PROVIDERS.includes(provider)) throw new ModelFolderError(`unknown execution provider "${provider}"`, `Use one of ${CLIP_PROVIDERS.join(', ')}.`);
  const towers = opts.towers ?? ['vision', 'text'];
  const files = validateModelFolder(dir, dtype, towers);
  let preprocess: PreprocessConfig | undefined;
  try {
    if (towers.includes('vision')) preprocess = parsePreprocessConfig(readJson(files.preprocessor));
  } catch (e) {
    throw new ModelFolderError(`${files.preprocessor}: ${(e as Error).message}`, 'Fix the field or fetch the model folder again.');
  }
  const ort = (await import('onnxruntime-node')) as Ort;
  const threads = opts.threads ?? availableParallelism();
  const spinning = opts.spinning ?? false;
  const vision = towers.includes('vision') ? await createSession(ort, files.vision, provider, threads, spinning) : undefined;
  const text = towers.includes('text') ? await createSession(ort, files.text, provider, threads, spinning) : undefined;
  const tokenizer = text ? await loadClipTokenizer(files) : undefined;

  const imageShape = [3, preprocess?.cropHeight ?? 0, preprocess?.cropWidth ?? 0] as const;
  const embedDim = configEmbedDim(files);
  const visionIn = vision && pick(vision.inputNames, 'pixel_values', files.vision);
  const visionOut = vision && pick(vision.outputNames, 'image_embeds', files.vision);
  const textIds = text && pick(text.inputNames, 'input_ids', files.text);
  const textOut = text && pick(text.outputNames, 'text_embeds', files.text);
  const textMask = text?.inputNames.includes('attention_mask') ? 'attention_mask' : undefined;
  const visionHalf = vision && visionIn ? tensorInfo(vision, visionIn).type === 'float16' : false;
  if (vision && visionIn) {
    const dims = tensorInfo(vision, visionIn).dims;
    const [h, w] = [dims[2], dims[3]];
    if ((typeof h === 'number' && h !== imageShape[1]) || (typeof w === 'number' && w !== imageShape[2])) {
      throw new ModelFolderError(`${files.vision}: takes ${h}x${w} images but preprocessor_config.json crops ${imageShape[1]}x${imageShape[2]}`, 'The folder mixes files of different models; fetch it again.');
    }
  }
  for (const [session, out, file] of [[vision, visionOut, files.vision], [text, textOut, files.text]] as const) {
    const d = session && out ? tensorInfo(session, out).dims[1] : undefined;
    if (typeof d === 'number' && d !== embedDim) throw new ModelFolderError(`${file}: outputs ${d}-d embeddings but config.json says projection_dim ${embedDim}`, 'The folder mixes files of different models; fetch it again.');
  }

  const toFloat32 = (t: Tensor): Float32Array => (t.type === 'float16' ? halfToFloat32(t.data as Uint16Array) : new Float32Array(t.data as Float32Array));

  return {
    files,
    dtype,
    provider,
    embedDim,
    preprocess,
    imageShape,
    tokenizer,
    async embedPixels(pixels, n) {
      if (!vision || !visionIn || !visionOut) throw new Error('loadClipModel: the vision tower was not loaded (towers option)');
      const dims = [n, ...imageShape];
      const data = pixels.subarray(0, dims.reduce((a, b) => a * b, 1));
      const feed = visionHalf ? new ort.Tensor('float16', float32ToHalf(data), dims) : new ort.Tensor('float32', data, dims);
      const out = await vision.run({ [visionIn]: feed }, [visionOut]);
      return toFloat32(out[visionOut]);
    },
    async embedTexts(texts, batchSize = 64) {
      if (!text || !textIds || !textOut || !tokenizer) throw new Error('loadClipModel: the text tower was not loaded (towers option)');
      const out = new Float32Array(texts.length * embedDim);
      for (let start = 0; start < texts.length; start += batchSize) {
        const batch = texts.slice(start, start + batchSize).map((t) => tokenizer.encode(t));
        // Padded with EOS (= PAD) to the longest in the batch.
        const { ids, mask, width } = padBatch(batch, tokenizer.padId);
        const feeds: Record<string, Tensor> = { [textIds]: new ort.Tensor('int64', ids, [batch.length, width]) };
        if (textMask) feeds[textMask] = new ort.Tensor('int64', mask, [batch.length, width]);
        const res = await text.run(feeds, [textOut]);
        out.set(toFloat32(res[textOut]), start * embedDim);
      }
      return out;
    },
    async release() {
      await vision?.release();
      await text?.release();
    },
  };
}
