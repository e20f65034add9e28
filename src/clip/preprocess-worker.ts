// Worker thread: decodes and preprocesses the image files the main thread posts, concurrently with
// inference there, and transfers each tensor back without copying.
import { parentPort, workerData } from 'node:worker_threads';
import { loadSharp, type DecodeOptions } from './decode.js';
import { prepareImage } from './prepare.js';
import type { PreprocessConfig } from './preprocess.js';
import type { WorkerReply, WorkerTask } from './pool.js';

const port = parentPort;
if (!port) throw new Error('preprocess-worker.js must run as a worker thread');
const { preprocess: cfg, decode } = workerData as { preprocess: PreprocessConfig; decode: DecodeOptions };
// One libvips thread per worker: parallelism comes from the workers, next to onnxruntime's threads.
await loadSharp(1);

port.on('message', (task: WorkerTask) => {
  prepareImage(task.path, cfg, decode).then(
    (pixels) => port.postMessage({ seq: task.seq, pixels } satisfies WorkerReply, [pixels.buffer as ArrayBuffer]),
    (e: unknown) => port.postMessage({ seq: task.seq, error: (e as Error).message ?? String(e) } satisfies WorkerReply),
  );
});
