// The pipeline loader in the test process, for the tests of src/pipeline/ (mutation testing sees only
// what runs in the test process, docs/testing.md): each case writes its own pipeline file into one
// workspace, loads it as `pipe validate` would, and gets the pipeline or the diagnostics as printed.
import { formatDiagnostic, loadPipeline } from '../../src/pipeline/load.js';
import { resolveInstance, resolveShellCommand, type OutputLookups } from '../../src/pipeline/resolve.js';
import type { Pipeline } from '../../src/pipeline/types.js';
import { defineStage, type Json, type StageKind } from '../../src/stage-api.js';
import type { TempWorkspace } from './workspace.js';

export interface LoadCaseOptions {
  readonly sets?: string[];
  readonly env?: NodeJS.ProcessEnv;
}

export interface Loader {
  /** The pipeline `yaml` loads to; throws with the diagnostics when it does not load. */
  ok(yaml: string, opts?: LoadCaseOptions): Promise<Pipeline>;
  /** The diagnostics of an invalid `yaml` as `pipe validate` prints them, without the file name. */
  errors(yaml: string, opts?: LoadCaseOptions): Promise<string[]>;
}

/** A loader writing `p<N>.yaml` files into `ws` (`ws` read when called, so it may be set in beforeAll). */
export function loader(ws: () => TempWorkspace, kinds: Readonly<Record<string, StageKind<unknown>>> = {}): Loader {
  let n = 0;
  const load = (yaml: string, opts: LoadCaseOptions = {}) => {
    const file = `p${n++}.yaml`;
    ws().write(file, yaml);
    return loadPipeline(file, { workspace: ws().dir, kinds, env: { HOME: '/home/x', ...opts.env }, ...(opts.sets ? { sets: opts.sets } : {}) });
  };
  return {
    async ok(yaml, opts) {
      const r = await load(yaml, opts);
      if (!r.ok) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
      return r.pipeline;
    },
    async errors(yaml, opts) {
      const r = await load(yaml, opts);
      if (r.ok) throw new Error('expected diagnostics, the file loaded');
      return r.diagnostics.map((d) => formatDiagnostic(d).replace(/^p\d+\.yaml:/, ''));
    },
  };
}

/** Lookups that name what they stand for: `<instance id>:<output>`, `outs:<name>`, `group`. */
export const NAMING_LOOKUPS: OutputLookups = { output: (u, name) => `${u.id}:${name}`, outs: (name) => `outs:${name}`, group: () => 'group' };

/** `value` resolved for instance `id` of `p`, as the engine resolves run:, with: and env:. */
export function resolveFor(p: Pipeline, id: string, value: Json, lookups: OutputLookups = NAMING_LOOKUPS, env: NodeJS.ProcessEnv = {}): Json {
  const inst = p.byId.get(id);
  if (!inst) throw new Error(`no instance ${id} (have ${[...p.byId.keys()].join(', ')})`);
  return resolveInstance({ params: p.params, byStage: p.byStage, env }, inst, value, lookups);
}

/** A shell line resolved for instance `id` of `p`. */
export function shellFor(p: Pipeline, id: string, line: string, lookups: OutputLookups = NAMING_LOOKUPS, env: NodeJS.ProcessEnv = {}): string {
  const inst = p.byId.get(id);
  if (!inst) throw new Error(`no instance ${id}`);
  return resolveShellCommand({ params: p.params, byStage: p.byStage, env }, inst, line, lookups);
}

/**
 * A kind for loader tests: any params, one output `model` (unless `extra` says otherwise), a run that does
 * nothing.
 */
export function testKind(kind: string, extra: Partial<StageKind<unknown>> = {}): StageKind<unknown> {
  return defineStage<unknown>({
    kind,
    version: '1',
    description: 'test',
    params: { type: 'object' },
    outputs: { model: { path: 'model.bin', description: 'a model' } },
    async run() {},
    ...extra,
  }) as unknown as StageKind<unknown>;
}
