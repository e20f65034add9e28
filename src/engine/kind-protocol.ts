// The messages between the engine's thread and a worker thread running a built-in kind (kind-worker.ts,
// kind-worker-entry.ts), and how errors cross: a structured clone keeps an Error's message and stack but
// not its class or extra fields, and the runner records a StageError (message + hint) differently from any
// other error (name, message, stack), and a GroupFailure by member. So each is sent as what it is.
import { GroupFailure, StageError, type MetricRow, type Progress } from '../stage-api.js';
import type { MemberData } from './kind-context.js';

/** What the worker starts with (workerData). */
export interface WorkerStart {
  /** URL of the module whose default export is the kind (runnable by a plain Node: no TypeScript). */
  readonly module: string;
  /** The kind's name: the loaded module must export this kind. */
  readonly kind: string;
  /** `run` for one member, `runGroup` for several. */
  readonly call: 'run' | 'runGroup';
  readonly members: readonly MemberData[];
}

/** An error as it crosses the boundary. */
export type WireError =
  | { readonly type: 'stage'; readonly message: string; readonly hint?: string }
  | { readonly type: 'group'; readonly failed: readonly (readonly [string, WireError])[] }
  | { readonly type: 'other'; readonly name: string; readonly message: string; readonly stack?: string };

/** Worker -> engine. `member` indexes WorkerStart.members. */
export type FromWorker =
  | { readonly type: 'log'; readonly member: number; readonly line: string }
  | { readonly type: 'progress'; readonly member: number; readonly progress: Progress }
  | { readonly type: 'metric'; readonly member: number; readonly row: MetricRow }
  | { readonly type: 'hash'; readonly member: number; readonly id: number; readonly paths: readonly string[] }
  | { readonly type: 'done' }
  | { readonly type: 'failed'; readonly error: WireError };

/** Engine -> worker. */
export type ToWorker =
  | { readonly type: 'abort' }
  | { readonly type: 'hashed'; readonly id: number; readonly hashes: string[] }
  | { readonly type: 'hash-failed'; readonly id: number; readonly error: WireError };

export function toWire(e: unknown): WireError {
  if (e instanceof StageError) return { type: 'stage', message: e.message, ...(e.hint !== undefined ? { hint: e.hint } : {}) };
  if (e instanceof GroupFailure) return { type: 'group', failed: [...e.failed].map(([id, err]) => [id, toWire(err)] as const) };
  const err = e instanceof Error ? e : new Error(String(e));
  return { type: 'other', name: err.name, message: err.message, ...(err.stack !== undefined ? { stack: err.stack } : {}) };
}

export function fromWire(w: WireError): Error {
  if (w.type === 'stage') return new StageError(w.message, w.hint);
  if (w.type === 'group') return new GroupFailure(new Map(w.failed.map(([id, err]) => [id, fromWire(err)])));
  const e = new Error(w.message);
  e.name = w.name;
  if (w.stack !== undefined) e.stack = w.stack;
  return e;
}
