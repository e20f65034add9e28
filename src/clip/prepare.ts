// One image file -> one preprocessed CHW float32 tensor. Runs inside the preprocessing workers (and in
// process when workers are disabled).
import { readFile } from 'node:fs/promises';
import { decodeRgb, type DecodeOptions } from './decode.js';
import { preprocess, type PreprocessConfig } from './preprocess.js';

export async function prepareImage(path: string, cfg: PreprocessConfig, decode: DecodeOptions = {}): Promise<Float32Array> {
  return preprocess(await decodeRgb(await readFile(path), decode), cfg);
}
