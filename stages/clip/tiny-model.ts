// `clip/tiny-model`: writes a small random-weight CLIP model folder (HF ONNX layout), so tests and the demo
// pipeline run end to end with nothing downloaded.
import { generateClipModel } from '../../src/clip/generate.js';
import { defineStage } from '../../src/stage-api.js';

export interface TinyModelParams {
  readonly seed: number;
  readonly text_attention_mask: boolean;
}

export default defineStage<TinyModelParams>({
  kind: 'clip/tiny-model',
  version: '1',
  description: 'A tiny CLIP model folder with deterministic random weights (not a trained model)',
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      seed: { type: 'integer', default: 0 },
      text_attention_mask: { type: 'boolean', default: false, description: 'give the text model an attention_mask input' },
    },
  },
  outputs: {
    model: { path: 'model', description: 'model folder: onnx/vision_model.onnx, onnx/text_model.onnx, tokenizer.json, configs' },
  },
  async run(ctx) {
    generateClipModel(ctx.output('model'), { seed: ctx.params.seed ?? 0, textAttentionMask: ctx.params.text_attention_mask ?? false });
  },
});
