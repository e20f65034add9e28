// A pool of preprocessing worker threads with promise-per-image submission.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { prepareImage } from './prepare.js';
import type { PreprocessConfig } from './preprocess.js';
import type { DecodeOptions } from './decode.js';

export interface WorkerTask {
  readonly seq: number;
  readonly path: string;
}
export type WorkerReply = { readonly seq: number; readonly pixels: Float32Array } | { readonly seq: number; readonly error: string };

/**
 * The compiled worker, resolved from the package root: under vitest this module is the `.ts` source, which
 * a worker thread cannot load, so both the built CLI and the tests use `dist/` (`npm test` builds first).
 */
function workerPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  const path = join(dir, 'dist', 'src', 'clip', 'preprocess-worker.js');
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run build\` first`);
  return path;
}

interface Slot {
  readonly worker: Worker;
  readonly waiting: Map<number, { resolve(p: Float32Array): void; reject(e: Error): void }>;
}

export class PreprocessPool {
  private readonly slots: Slot[] = [];
  private seq = 0;

  /** `workers` = 0 preprocesses in this thread (still overlapped with inference by sharp's own threads). */
  constructor(workers: number, private readonly cfg: PreprocessConfig, private readonly decode: DecodeOptions = {}) {
    const path = workers > 0 ? workerPath() : '';
    for (let i = 0; i < workers; i++) {
      const slot: Slot = { worker: new Worker(path, { workerData: { preprocess: cfg, decode } }), waiting: new Map() };
      slot.worker.on('message', (r: WorkerReply) => {
        const w = slot.waiting.get(r.seq);
        slot.waiting.delete(r.seq);
        if ('pixels' in r) w?.resolve(r.pixels);
        else w?.reject(new Error(r.error));
      });
      slot.worker.on('error', (e) => {
        for (const w of slot.waiting.values()) w.reject(e);
        slot.waiting.clear();
      });
      this.slots.push(slot);
    }
  }

  /** Decodes and preprocesses one file on the least busy worker. */
  submit(path: string): Promise<Float32Array> {
    if (!this.slots.length) return prepareImage(path, this.cfg, this.decode);
    const slot = this.slots.reduce((a, b) => (b.waiting.size < a.waiting.size ? b : a));
    const seq = this.seq++;
    return new Promise((resolve, reject) => {
      slot.waiting.set(seq, { resolve, reject });
      slot.worker.postMessage({ seq, path } satisfies WorkerTask);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
