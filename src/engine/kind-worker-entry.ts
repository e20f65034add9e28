// Inside the worker thread of a built-in kind (kind-worker.ts starts it): imports the kind's module, calls
// `run` or `runGroup` with contexts whose channels are messages to the engine's thread, and reports how
// the call ended. The engine's thread owns the log files, the progress display, the metric buffer and
// the hash cache's database connection; this thread owns only the kind's own work and heap.
import { parentPort, workerData } from 'node:worker_threads';
import { StageError, type StageKind } from '../stage-api.js';
import { stageContext, type Channels } from './kind-context.js';
import { fromWire, toWire, type FromWorker, type ToWorker, type WorkerStart } from './kind-protocol.js';

const port = parentPort!;
const start = workerData as WorkerStart;
const abort = new AbortController();
/** hashFiles requests waiting for the engine's answer, by id. */
const pending = new Map<number, { resolve: (h: string[]) => void; reject: (e: Error) => void }>();
let nextId = 0;

function send(m: FromWorker): void {
  port.postMessage(m);
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'abort') return abort.abort();
  const p = pending.get(m.id);
  pending.delete(m.id);
  if (m.type === 'hashed') p?.resolve(m.hashes);
  else p?.reject(fromWire(m.error));
});

function channels(member: number): Channels {
  return {
    log: (line) => send({ type: 'log', member, line }),
    progress: (progress) => send({ type: 'progress', member, progress }),
    metric: (row) => send({ type: 'metric', member, row }),
    hashFiles: (paths) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        send({ type: 'hash', member, id, paths });
      }),
  };
}

async function loadKind(): Promise<StageKind<unknown>> {
  const kind = ((await import(start.module)) as { default?: StageKind<unknown> }).default;
  if (kind?.kind !== start.kind)
    throw new StageError(`${start.module} does not export the stage kind ${start.kind} as its default`, "a kind's isolation.module must be its own module (import.meta.url)");
  return kind;
}

async function main(): Promise<void> {
  const kind = await loadKind();
  const ctxs = start.members.map((m, i) => stageContext(kind, m, channels(i), abort.signal));
  if (start.call === 'run') await kind.run(ctxs[0]);
  else await kind.runGroup!(ctxs);
}

// The port's listener keeps the thread alive until the engine terminates it on `done` or `failed` (what
// the kind may have left running, a timer or a pool, ends with it).
main().then(
  () => send({ type: 'done' }),
  (e: unknown) => send({ type: 'failed', error: toWire(e) }),
);
