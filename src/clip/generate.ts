// Generates CLIP model folders in the Hugging Face ONNX layout with deterministic random weights: a tiny
// one for tests and the demo pipeline (nothing to download), and the full-size ViT-B/32 architecture for
// the throughput benchmark. Graphs follow transformers' CLIPVisionModelWithProjection and
// CLIPTextModelWithProjection: same I/O names, pre-LN blocks with quick-GELU, class-token pooling with
// post-LN for images, causal attention and EOS pooling at argmax(input_ids) for text, bias-free projections.
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GraphBuilder, float, modelBytes } from '../onnx/builder.js';
import { clipTokenizerJson, BOS_TOKEN, EOS_TOKEN } from './bpe-vocab.js';

export interface TowerArch {
  readonly width: number;
  readonly layers: number;
  readonly heads: number;
  readonly mlp: number;
}
export interface ClipArch {
  readonly embedDim: number;
  readonly imageSize: number;
  readonly patchSize: number;
  readonly vision: TowerArch;
  readonly text: TowerArch & { readonly context: number };
}

/** openai/clip-vit-base-patch32. */
export const VIT_B32: ClipArch = {
  embedDim: 512,
  imageSize: 224,
  patchSize: 32,
  vision: { width: 768, layers: 12, heads: 12, mlp: 3072 },
  text: { width: 512, layers: 12, heads: 8, mlp: 2048, context: 77 },
};

/** Small enough for CI (about 1 MB per tower), same 224 input and 512-d embeddings as ViT-B/32. */
export const TINY: ClipArch = {
  embedDim: 512,
  imageSize: 224,
  patchSize: 32,
  vision: { width: 64, layers: 2, heads: 2, mlp: 128 },
  text: { width: 64, layers: 2, heads: 2, mlp: 128, context: 77 },
};

export interface GenerateOptions {
  readonly arch?: ClipArch;
  readonly seed?: number;
  /** Which towers to write (the benchmark needs only the vision model). */
  readonly towers?: readonly ('vision' | 'text')[];
  /** Give the text model an `attention_mask` input (some exports have one, Xenova's does not). */
  readonly textAttentionMask?: boolean;
  /**
   * Also write `*_fp16.onnx` variants with float16 inputs/outputs (fp32 weights inside, cast at the edges):
   * exercises the dtype selection and half conversion that real fp16 exports need.
   */
  readonly fp16Variant?: boolean;
}

const FLOAT = 1;
const FLOAT16 = 10;

/** Names `value` as a graph output, cast to float16 for the fp16 variants. */
function outputAs(g: GraphBuilder, value: string, name: string, half: boolean): void {
  g.op(half ? 'Cast' : 'Identity', [value], half ? { to: FLOAT16 } : {}, name);
}

/** Deterministic weights: xorshift32 into approximately normal values (sum of 4 uniforms). */
class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = (seed ^ 0x9e3779b9) >>> 0 || 1;
  }
  private next(): number {
    let s = this.s;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.s = s >>> 0;
    return this.s / 4294967296;
  }
  normal(n: number, std: number): Float32Array {
    const out = new Float32Array(n);
    // Irwin-Hall(4) has variance 1/3: scale to the requested std.
    const k = std * Math.sqrt(3);
    for (let i = 0; i < n; i++) out[i] = (this.next() + this.next() + this.next() + this.next() - 2) * k;
    return out;
  }
}

const ones = (n: number) => new Float32Array(n).fill(1);
const zeros = (n: number) => new Float32Array(n);

class Tower {
  constructor(
    readonly g: GraphBuilder,
    readonly rng: Rng,
    readonly a: TowerArch,
    readonly prefix: string,
  ) {}

  w(name: string, dims: number[], std: number): string {
    return this.g.initializer(`${this.prefix}.${name}`, this.rng.normal(dims.reduce((x, y) => x * y, 1), std), dims);
  }
  c(name: string, data: Float32Array, dims: number[]): string {
    return this.g.initializer(`${this.prefix}.${name}`, data, dims);
  }
  layerNorm(x: string, name: string): string {
    const d = this.a.width;
    return this.g.op('LayerNormalization', [x, this.c(`${name}.weight`, ones(d), [d]), this.c(`${name}.bias`, zeros(d), [d])], { axis: -1, epsilon: float(1e-5) });
  }
  linear(x: string, name: string, inDim: number, outDim: number, bias = true): string {
    const y = this.g.op('MatMul', [x, this.w(`${name}.weight`, [inDim, outDim], 1 / Math.sqrt(inDim))]);
    return bias ? this.g.op('Add', [y, this.c(`${name}.bias`, this.rng.normal(outDim, 0.02), [outDim])]) : y;
  }
  /** Multi-head self-attention; `mask` is added to the scores ([T,T] or [B,1,1,T]). */
  attention(x: string, name: string, mask?: string): string {
    const { g } = this;
    const { width, heads } = this.a;
    const hd = width / heads;
    const split = (t: string) => g.op('Transpose', [g.op('Reshape', [t, g.constant(BigInt64Array.from([0n, 0n, BigInt(heads), BigInt(hd)]))])], { perm: [0, 2, 1, 3] });
    const q = split(g.op('Mul', [this.linear(x, `${name}.q_proj`, width, width), g.scalar(hd ** -0.5)]));
    const k = split(this.linear(x, `${name}.k_proj`, width, width));
    const v = split(this.linear(x, `${name}.v_proj`, width, width));
    let scores = g.op('MatMul', [q, g.op('Transpose', [k], { perm: [0, 1, 3, 2] })]);
    if (mask) scores = g.op('Add', [scores, mask]);
    const ctx = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), v]);
    const merged = g.op('Reshape', [g.op('Transpose', [ctx], { perm: [0, 2, 1, 3] }), g.constant(BigInt64Array.from([0n, 0n, BigInt(width)]))]);
    return this.linear(merged, `${name}.out_proj`, width, width);
  }
  quickGelu(x: string): string {
    return this.g.op('Mul', [x, this.g.op('Sigmoid', [this.g.op('Mul', [x, this.g.scalar(1.702)])])]);
  }
  encoder(x: string, mask?: string): string {
    const { width, mlp } = this.a;
    for (let l = 0; l < this.a.layers; l++) {
      const n = `encoder.layers.${l}`;
      x = this.g.op('Add', [x, this.attention(this.layerNorm(x, `${n}.layer_norm1`), `${n}.self_attn`, mask)]);
      const h = this.quickGelu(this.linear(this.layerNorm(x, `${n}.layer_norm2`), `${n}.mlp.fc1`, width, mlp));
      x = this.g.op('Add', [x, this.linear(h, `${n}.mlp.fc2`, mlp, width)]);
    }
    return x;
  }
}

export function visionModel(arch: ClipArch, seed: number, half = false): Uint8Array {
  const g = new GraphBuilder('clip_vision');
  const t = new Tower(g, new Rng(seed), arch.vision, 'vision_model');
  const { width } = arch.vision;
  const grid = arch.imageSize / arch.patchSize;
  const io = half ? 'float16' : 'float32';
  const pxIn = g.input('pixel_values', io, ['batch_size', 3, arch.imageSize, arch.imageSize]);
  const px = half ? g.op('Cast', [pxIn], { to: FLOAT }) : pxIn;
  const fanIn = 3 * arch.patchSize * arch.patchSize;
  // A patch embedding of fan-in scale keeps image content in every token's features.
  const patches = g.op('Conv', [px, t.w('embeddings.patch_embedding.weight', [width, 3, arch.patchSize, arch.patchSize], 1 / Math.sqrt(fanIn))], {
    kernel_shape: [arch.patchSize, arch.patchSize],
    strides: [arch.patchSize, arch.patchSize],
  });
  const tokens = g.op('Transpose', [g.op('Reshape', [patches, g.constant(BigInt64Array.from([0n, BigInt(width), -1n]))])], { perm: [0, 2, 1] });
  // Class token broadcast over the batch: zeros shaped [B,1,W] (from the first patch token) + the embedding.
  const first = g.op('Slice', [tokens, g.constant(BigInt64Array.of(0n)), g.constant(BigInt64Array.of(1n)), g.constant(BigInt64Array.of(1n))]);
  const cls = g.op('Add', [g.op('Mul', [first, g.scalar(0)]), t.w('embeddings.class_embedding', [width], 0.1)]);
  const seq = g.op('Concat', [cls, tokens], { axis: 1 });
  const emb = g.op('Add', [seq, t.w('embeddings.position_embedding.weight', [grid * grid + 1, width], 0.1)]);
  const hidden = t.encoder(t.layerNorm(emb, 'pre_layrnorm'));
  outputAs(g, hidden, 'last_hidden_state', half);
  const pooled = t.layerNorm(g.op('Gather', [hidden, g.constant(BigInt64Array.of(0n), [])], { axis: 1 }), 'post_layernorm');
  outputAs(g, t.linear(pooled, 'visual_projection', width, arch.embedDim, false), 'image_embeds', half);
  g.output('image_embeds', io, ['batch_size', arch.embedDim]);
  g.output('last_hidden_state', io, ['batch_size', grid * grid + 1, width]);
  return modelBytes(g, { opset: 17, producer: 'pipe clip generator' });
}

export function textModel(arch: ClipArch, vocabSize: number, seed: number, withMask: boolean, half = false): Uint8Array {
  const g = new GraphBuilder('clip_text');
  const t = new Tower(g, new Rng(seed + 1), arch.text, 'text_model');
  const { width, context } = arch.text;
  const ids = g.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const tok = g.op('Gather', [t.w('embeddings.token_embedding.weight', [vocabSize, width], 0.5), ids], { axis: 0 });
  // Positions and the causal mask are sliced to the actual sequence length L.
  const len = g.op('Slice', [g.op('Shape', [ids]), g.constant(BigInt64Array.of(1n)), g.constant(BigInt64Array.of(2n))]);
  const zero = g.constant(BigInt64Array.of(0n));
  const pos = g.op('Slice', [t.w('embeddings.position_embedding.weight', [context, width], 0.1), zero, len, zero]);
  const causal = new Float32Array(context * context);
  for (let i = 0; i < context; i++) for (let j = i + 1; j < context; j++) causal[i * context + j] = -1e9;
  const two = g.constant(BigInt64Array.from([0n, 1n]));
  const lenLen = g.op('Concat', [len, len], { axis: 0 });
  let mask = g.op('Slice', [g.constant(causal, [context, context]), g.constant(BigInt64Array.from([0n, 0n])), lenLen, two]);
  if (withMask) {
    const am = g.input('attention_mask', 'int64', ['batch_size', 'sequence_length']);
    const pad = g.op('Mul', [g.op('Sub', [g.scalar(1), g.op('Cast', [am], { to: 1 })]), g.scalar(-1e9)]);
    mask = g.op('Add', [mask, g.op('Unsqueeze', [pad, g.constant(BigInt64Array.from([1n, 2n]))])]);
  }
  const hidden = t.layerNorm(t.encoder(g.op('Add', [tok, pos]), mask), 'final_layer_norm');
  outputAs(g, hidden, 'last_hidden_state', half);
  const eos = g.op('ArgMax', [ids], { axis: -1, keepdims: 1 });
  const pooled = g.op('GatherND', [hidden, eos], { batch_dims: 1 });
  outputAs(g, t.linear(pooled, 'text_projection', width, arch.embedDim, false), 'text_embeds', half);
  const io = half ? 'float16' : 'float32';
  g.output('text_embeds', io, ['batch_size', arch.embedDim]);
  g.output('last_hidden_state', io, ['batch_size', 'sequence_length', width]);
  return modelBytes(g, { opset: 17, producer: 'pipe clip generator' });
}

const json = (v: unknown) => JSON.stringify(v, null, 2) + '\n';

/** The root files of a CLIP folder: configs and tokenizer (the real openai/clip-vit-base-patch32 values). */
function rootFiles(arch: ClipArch): Record<string, string> {
  const tok = clipTokenizerJson();
  const tower = (a: TowerArch) => ({ hidden_size: a.width, num_hidden_layers: a.layers, num_attention_heads: a.heads, intermediate_size: a.mlp, hidden_act: 'quick_gelu', layer_norm_eps: 1e-5 });
  return {
    'config.json': json({
      architectures: ['CLIPModel'], model_type: 'clip', projection_dim: arch.embedDim, logit_scale_init_value: 2.6592,
      text_config: { ...tower(arch.text), model_type: 'clip_text_model', max_position_embeddings: arch.text.context, vocab_size: tok.vocabSize, bos_token_id: tok.bosId, eos_token_id: tok.eosId, pad_token_id: tok.eosId, projection_dim: arch.embedDim },
      vision_config: { ...tower(arch.vision), model_type: 'clip_vision_model', image_size: arch.imageSize, patch_size: arch.patchSize, num_channels: 3, projection_dim: arch.embedDim },
      generated_by: 'pipe (random weights, not a trained model)',
    }),
    'preprocessor_config.json': json({
      crop_size: { height: arch.imageSize, width: arch.imageSize }, do_center_crop: true, do_convert_rgb: true, do_normalize: true,
      do_rescale: true, do_resize: true, feature_extractor_type: 'CLIPFeatureExtractor', image_processor_type: 'CLIPImageProcessor',
      image_mean: [0.48145466, 0.4578275, 0.40821073], image_std: [0.26862954, 0.26130258, 0.27577711], resample: 3,
      rescale_factor: 0.00392156862745098, size: { shortest_edge: arch.imageSize },
    }),
    'tokenizer.json': json(tok.tokenizerJson),
    'tokenizer_config.json': json({ tokenizer_class: 'CLIPTokenizer', model_max_length: arch.text.context, do_lower_case: true, bos_token: BOS_TOKEN, eos_token: EOS_TOKEN, pad_token: EOS_TOKEN, unk_token: EOS_TOKEN }),
    'special_tokens_map.json': json({ bos_token: BOS_TOKEN, eos_token: EOS_TOKEN, pad_token: EOS_TOKEN, unk_token: EOS_TOKEN }),
  };
}

/** Writes a complete model folder at `dir` (atomically: built beside it, then renamed into place). */
export function generateClipModel(dir: string, opts: GenerateOptions = {}): void {
  const arch = opts.arch ?? TINY;
  const seed = opts.seed ?? 0;
  const towers = opts.towers ?? ['vision', 'text'];
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'onnx'), { recursive: true });
  const files = rootFiles(arch);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(tmp, name), text);
  const vocab = (JSON.parse(files['config.json']) as { text_config: { vocab_size: number } }).text_config.vocab_size;
  for (const half of opts.fp16Variant ? [false, true] : [false]) {
    const suffix = half ? '_fp16' : '';
    if (towers.includes('vision')) writeFileSync(join(tmp, 'onnx', `vision_model${suffix}.onnx`), visionModel(arch, seed, half));
    if (towers.includes('text')) writeFileSync(join(tmp, 'onnx', `text_model${suffix}.onnx`), textModel(arch, vocab, seed, opts.textAttentionMask ?? false, half));
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}
