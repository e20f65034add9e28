// Runs a built-in kind's `run` or `runGroup` in a worker thread (the kind declares `isolation`, see
// stage-api.ts). Why: a kind whose work is synchronous on its thread (onnxruntime's session.run) holds the
// engine's thread for the whole stage, so two such stages under --jobs 2 share one core, and the stage's
// data and garbage share the engine's heap. A fresh Worker per call: its start-up (~0.3 s with
// onnxruntime) is small next to a training, and nothing of one attempt outlives it.
//
// The worker gets the members' plain data; its log lines, progress, metric rows and hash requests come
// back as messages and go through the same channels as an in-process kind's (execute.ts). The run's
// abort is forwarded; a worker that has not ended GRACE_MS after it is terminated. A worker that crashes
// (an uncaught exception, out of memory, process.exit) fails the attempt with a message saying so.
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { StageError, type StageKind } from '../stage-api.js';
import { GRACE_MS } from './group.js';
import type { Channels, MemberData } from './kind-context.js';
import { fromWire, toWire, type FromWorker, type ToWorker, type WorkerStart } from './kind-protocol.js';

export interface WorkerCall {
  readonly kind: StageKind<unknown>;
  readonly call: 'run' | 'runGroup';
  readonly members: readonly MemberData[];
  /** The engine-side channels of each member (the worker's messages are handed to them). */
  readonly channels: readonly Channels[];
  readonly signal: AbortSignal;
}

/**
 * The URL a worker thread can import for `url`. A TypeScript source (the engine run by vitest, or by a
 * TypeScript loader) is not loadable there, since a worker does not inherit the loader: its tsc output
 * in the nearest enclosing `dist/` is used instead (the tests build dist/ before they run).
 */
export function runnableModule(url: string): string {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return url;
  const file = fileURLToPath(url);
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const built = join(dir, 'dist', relative(dir, file).replace(/\.ts$/, '.js'));
    if (existsSync(built)) return pathToFileURL(built).href;
    if (dirname(dir) === dir) throw new StageError(`${file} runs in a worker thread, and no compiled dist/ copy of it was found`, 'build first: npx tsc -p tsconfig.json');
  }
}

const ENTRY = import.meta.url.replace(/kind-worker\.(ts|js)$/, 'kind-worker-entry.$1');

/** Runs the call in a fresh worker thread; resolves when the kind's call resolved, rejects with its error. */
export function runInWorker(c: WorkerCall): Promise<void> {
  const start: WorkerStart = { module: runnableModule(c.kind.isolation!.module), kind: c.kind.kind, call: c.call, members: c.members };
  const worker = new Worker(new URL(runnableModule(ENTRY)), { workerData: start });
  return new Promise((resolve, reject) => {
    let settled = false;
    let killer: NodeJS.Timeout | undefined;
    const post = (m: ToWorker): void => worker.postMessage(m);
    const onAbort = (): void => {
      post({ type: 'abort' });
      killer = setTimeout(() => end(new StageError('cancelled', `${c.kind.kind} did not stop within ${GRACE_MS / 1000} s of the interruption: its worker thread was terminated`)), GRACE_MS);
    };
    // Settles once the thread has stopped: nothing it runs may still write into the outputs.
    const end = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(killer);
      c.signal.removeEventListener('abort', onAbort);
      void worker.terminate().finally(() => (error ? reject(error) : resolve()));
    };
    worker.on('message', (m: FromWorker) => handle(m, c, post, end));
    worker.on('error', (e) => end(crashed(c.kind, e)));
    worker.on('exit', (code) => end(new StageError(`${c.kind.kind} ended its worker thread (exit code ${code}) before it finished`, 'a stage kind must return or throw, not call process.exit()')));
    if (c.signal.aborted) onAbort();
    else c.signal.addEventListener('abort', onAbort, { once: true });
  });
}

function handle(m: FromWorker, c: WorkerCall, post: (m: ToWorker) => void, end: (error?: Error) => void): void {
  switch (m.type) {
    case 'log':
      return c.channels[m.member].log(m.line);
    case 'progress':
      return c.channels[m.member].progress(m.progress);
    case 'metric':
      return c.channels[m.member].metric(m.row);
    case 'hash':
      void c.channels[m.member].hashFiles(m.paths).then(
        (hashes) => post({ type: 'hashed', id: m.id, hashes }),
        (e: unknown) => post({ type: 'hash-failed', id: m.id, error: toWire(e) }),
      );
      return;
    case 'done':
      return end();
    case 'failed':
      return end(fromWire(m.error));
  }
}

/** An uncaught exception in the worker, or its heap running out: the attempt fails, saying so. */
function crashed(kind: StageKind<unknown>, e: Error): StageError {
  const oom = (e as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY';
  const stack = e.stack?.split('\n').slice(1, 4).join('\n');
  return new StageError(
    `${kind.kind} crashed in its worker thread: ${e.message}`,
    oom ? 'the stage ran out of JavaScript heap: give node more (NODE_OPTIONS=--max-old-space-size=MB) or the stage less data' : stack || undefined,
  );
}
