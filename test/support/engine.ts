// Runs a pipeline through the engine's programmatic API (runPipeline: what the CLI calls) in the test
// process, with stage kinds defined by the test. In-process, so mutation testing sees which engine code
// each test reaches; the results are read the way a user reads them (instance statuses, the store).
import { runPipeline, type RunPipelineOptions, type RunResult } from '../../src/engine/index.js';
import type { StageKind } from '../../src/stage-api.js';

export type EngineRunOptions = Omit<RunPipelineOptions, 'file' | 'workspace' | 'kinds'> & {
  readonly kinds?: readonly StageKind<never>[];
};

/** `runPipeline` of `file` in `workspace` with `kinds` registered by name. */
export function runEngine(workspace: string, file: string, opts: EngineRunOptions = {}): Promise<RunResult> {
  const { kinds = [], ...rest } = opts;
  return runPipeline({
    ...rest,
    file,
    workspace,
    env: { ...process.env, ...rest.env },
    kinds: Object.fromEntries(kinds.map((k) => [k.kind, k as unknown as StageKind<unknown>])),
  });
}

/** Instance ids by status, sorted: `{ ran: [...], cached: [...] }`. */
export function statuses(r: RunResult): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const i of r.instances) (out[i.status] ??= []).push(i.id);
  for (const v of Object.values(out)) v.sort();
  return out;
}
