// Pre-flight: every input path a run reads from outside the store (a built-in kind's `format: "path"`
// params and a command's `deps:` that are not upstream outputs) must exist before anything starts. Without
// it, a missing dataset fails one stage while others have already run for minutes, and only the first
// missing path is named; here the user gets every missing path at once.
import { existsSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import type { Json } from '../stage-api.js';
import { InterpolationError } from '../pipeline/interpolate.js';
import { mapPathParams } from '../pipeline/kinds.js';
import { depEntries, resolveInstance, type OutputLookups } from '../pipeline/resolve.js';
import type { Diagnostic, Pipeline } from '../pipeline/types.js';

/** Stands for an upstream output: such a path is produced by the run, not read from outside. */
const UPSTREAM = '\u0000upstream\u0000';
const lookups: OutputLookups = { output: () => UPSTREAM, outs: () => UPSTREAM };

function paths(value: Json): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(paths);
  return [];
}

/** One diagnostic per missing path (naming the instances that read it), in pipeline order. */
export function missingInputs(p: Pipeline, ids: ReadonlySet<string>, env: NodeJS.ProcessEnv = process.env): Diagnostic[] {
  const scope = { params: p.params, byStage: p.byStage, env };
  const readers = new Map<string, string[]>();
  const note = (raw: string, id: string): void => {
    if (raw.includes(UPSTREAM)) return;
    const abs = isAbsolute(raw) ? raw : resolve(p.workspace, raw);
    if (existsSync(abs)) return;
    if (!readers.has(abs)) readers.set(abs, []);
    readers.get(abs)!.push(id);
  };
  for (const inst of p.instances) {
    if (!ids.has(inst.id)) continue;
    try {
      if (inst.kind) {
        const params = resolveInstance(scope, inst, inst.stage.with ?? {}, lookups);
        mapPathParams(inst.kind.params, params, (v) => (note(v, inst.id), v));
      }
      for (const d of depEntries(inst.stage)) for (const v of paths(resolveInstance(scope, inst, d.path, lookups))) note(v, inst.id);
    } catch (e) {
      // An unresolvable reference is reported, located, when the instance is prepared.
      if (!(e instanceof InterpolationError)) throw e;
    }
  }
  const hint = `create ${readers.size === 1 ? 'it' : 'them'} or point the pipeline's params at ${readers.size === 1 ? 'it' : 'them'} (--set NAME=PATH)` +
    (p.description ? `; this pipeline: ${p.description}` : '');
  // One hint, under the last path: the same advice under every line would bury the paths.
  return [...readers].map(([abs, by], i) => ({
    file: p.relFile,
    line: 0,
    col: 0,
    message: `input ${relative(p.workspace, abs).startsWith('..') ? abs : relative(p.workspace, abs)} does not exist (read by ${by[0]}${by.length > 1 ? ` and ${by.length - 1} more` : ''})`,
    ...(i === readers.size - 1 ? { hint } : {}),
  }));
}
