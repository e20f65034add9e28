// Params and fingerprint shared by the clip/embed-* stages.
import { createRequire } from 'node:module';
import type { JsonSchema } from '../stage-api.js';
import { CLIP_DTYPES, CLIP_PROVIDERS, type ClipDtype, type ClipProvider } from './model.js';
import { PREPROCESS_VERSION } from './preprocess.js';

export interface ModelParams {
  readonly model: string;
  readonly dtype: ClipDtype;
  readonly provider: ClipProvider;
  readonly batch_size: number;
}

export const MODEL_PARAM_SCHEMA: Record<string, JsonSchema> = {
  model: { type: 'string', format: 'path', description: 'Hugging Face ONNX layout model folder (pipe model fetch, or clip/tiny-model)' },
  dtype: { enum: [...CLIP_DTYPES], default: 'fp32', description: 'ONNX variant: fp32 = onnx/*_model.onnx, fp16 = *_fp16.onnx, q8 = *_quantized.onnx, ...' },
  provider: { enum: [...CLIP_PROVIDERS], default: 'cpu', description: 'onnxruntime execution provider' },
  batch_size: { type: 'integer', minimum: 1, maximum: 4096, default: 32 },
};

/** Environment facts that change embeddings beyond the model files: runtime version, provider, dtype. */
export function modelFingerprint(p: ModelParams): Record<string, string> {
  const ort = createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string };
  return { onnxruntime: ort.version, provider: p.provider, dtype: p.dtype, preprocess: PREPROCESS_VERSION };
}
