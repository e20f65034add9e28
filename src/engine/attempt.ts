// What the runner and the group runner (grouping.ts) share about one attempt of an instance: its demand,
// its retry policy, and how an executor's answer becomes outputs to commit or an error to record.
import { rmSync } from 'node:fs';
import { StageError, type MetricRow } from '../stage-api.js';
import { commandResources } from '../pipeline/resolve.js';
import type { Instance, StageDecl } from '../pipeline/types.js';
import { confine } from './entry.js';
import type { Done } from './executor.js';
import type { Prepared } from './keys.js';
import type { Demand } from './pool.js';
import type { Usage } from './usage.js';

/** An instance the runner decided to build (not cached, selected); `corrupt`: why its entry is rebuilt. */
export interface Build {
  readonly inst: Instance;
  readonly prepared: Prepared;
  readonly forced?: boolean;
  readonly corrupt?: string | undefined;
}

/** An attempt's outputs (in a private directory under runs/tmp), or why it failed. */
export type Attempted = { readonly tmp: string; readonly metrics: MetricRow[]; readonly usage: Usage | null } | { readonly error: string; readonly hint?: string };

export function demandOf(inst: Instance, prepared: Prepared): Demand {
  if (!inst.kind) {
    const r = commandResources(inst.stage);
    return { cpu: r.cpu, gpu: r.gpu, memoryMb: r.memory_mb };
  }
  const r = inst.kind.resources?.(prepared.params) ?? {};
  return { cpu: r.cpu ?? 1, gpu: r.gpu ?? 0, memoryMb: r.memoryMb ?? 0 };
}

/** A stage's `retry:` and `timeout_s:` (default: one attempt, no time limit). */
export function retryPolicy(s: StageDecl): { attempts: number; delayMs: number; timeoutMs: number | undefined } {
  return { attempts: Math.max(1, s.retry?.attempts ?? 1), delayMs: (s.retry?.delay_s ?? 0) * 1000, timeoutMs: s.timeout_s === undefined ? undefined : s.timeout_s * 1000 };
}

/** A finished attempt's outputs, once confined to its directory (a bad symlink fails it). */
export function accepted(done: Done): Attempted {
  try {
    confine(done.outDir);
    return { tmp: done.outDir, metrics: done.metrics, usage: done.usage ?? null };
  } catch (e) {
    rmSync(done.outDir, { recursive: true, force: true });
    return attemptError(e);
  }
}

/** A failed attempt as it is recorded: a StageError's own words, anything else with a short stack. */
export function attemptError(e: unknown): Attempted {
  const err = e as Error;
  if (e instanceof StageError) return { error: err.message, ...(e.hint ? { hint: e.hint } : {}) };
  const stack = err.stack?.split('\n').slice(1, 4).join('\n');
  return { error: `${err.name}: ${err.message}`, ...(stack ? { hint: stack } : {}) };
}
