// Resolution of references for one stage instance. The engine resolves each instance twice: once with
// real paths (what the stage sees) and once with stable symbols (what its cache key hashes), so a key
// never depends on where the store happens to live.
// shell-quote stays on 1.8: from 1.9 its bundled types redeclare the global Array.join.
import { quote } from 'shell-quote';
import type { Json } from '../stage-api.js';
import { forEachOf, forEachPoints } from './for-each.js';
import { InterpolationError, parseTemplate, resolveValue, type Ref } from './interpolate.js';
import { outputNames } from './kinds.js';
import { matrixLabel } from './matrix.js';
import type { Instance, StageDecl } from './types.js';

/** What a `${stages.S.outputs.O}` or `${outs.O}` reference turns into, per use. */
export interface OutputLookups {
  output(upstream: Instance, name: string): Json;
  outs?(name: string): Json;
  /** `${group.members}` of a grouped command stage. */
  group?(): Json;
}

export interface ResolveScope {
  readonly params: { readonly [name: string]: Json };
  readonly byStage: ReadonlyMap<string, readonly Instance[]>;
  readonly env: NodeJS.ProcessEnv;
}

/**
 * Instances of `stage` that agree with `matrix` on every axis both have. `pinned` when that fixes all
 * of the upstream stage's axes, i.e. the reference denotes one instance rather than a list.
 */
export function matchUpstream(
  byStage: ReadonlyMap<string, readonly Instance[]>,
  matrix: Readonly<Record<string, Json>>,
  stage: string,
): { instances: Instance[]; pinned: boolean } {
  const all = byStage.get(stage) ?? [];
  const axes = Object.keys(all[0]?.matrix ?? {});
  const shared = axes.filter((a) => a in matrix);
  const instances = all.filter((u) => shared.every((a) => matrixLabel(u.matrix[a]) === matrixLabel(matrix[a])));
  instances.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { instances, pinned: shared.length === axes.length };
}

/**
 * `${env.NAME}` unset and without a fallback. `param`: the param whose value it is, which --set can give
 * instead (a stage's own `${env...}` has no such way round).
 */
export function unsetEnv(name: string, param?: string): InterpolationError {
  const instead = param === undefined ? '' : `, or give the param on the command line: --set ${param}=...`;
  return new InterpolationError(`environment variable ${name} is not set`, `export ${name}=..., or write \${env.${name}:-default}${instead}`);
}

export function envValue(env: NodeJS.ProcessEnv, name: string, fallback: string | undefined, param?: string): string {
  const v = env[name];
  if (v !== undefined && v !== '') return v;
  if (fallback !== undefined) return fallback;
  throw unsetEnv(name, param);
}

export function paramValue(params: { readonly [name: string]: Json }, name: string, path: readonly string[]): Json {
  let v: Json | undefined = params[name];
  if (v === undefined)
    throw new InterpolationError(`unknown param "${name}"`, `declare it under params: (declared: ${Object.keys(params).join(', ') || 'none'})`);
  for (const k of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !(k in v))
      throw new InterpolationError(`param "${name}" has no key "${path.join('.')}"`, 'check the spelling against the params block');
    v = v[k];
  }
  return v as Json;
}

/** A stage's deps, list or map form alike: `name` is the map key (undefined in the list form). */
export function depEntries(stage: Pick<StageDecl, 'deps'>): { name?: string; at: string | number; path: string }[] {
  const d = stage.deps;
  if (!d) return [];
  if (Array.isArray(d)) return d.map((path, i) => ({ at: i, path }));
  return Object.entries(d).map(([name, path]) => ({ name, at: name, path }));
}

/** What a command stage occupies, with the scheduler's defaults (1 cpu); also `${resources.NAME}`. */
export function commandResources(stage: Pick<StageDecl, 'resources'>): { cpu: number; gpu: number; memory_mb: number } {
  const r = stage.resources ?? {};
  return { cpu: r.cpu ?? 1, gpu: r.gpu ?? 0, memory_mb: r.memory_mb ?? 0 };
}

export function resolveInstance(scope: ResolveScope, inst: Instance, value: Json, lookups: OutputLookups): Json {
  if (value === null || typeof value !== 'object') return resolveRefs(scope, inst, value, lookups);
  const each = forEachOf(value);
  if (each) {
    // One item per point, resolved as an instance whose matrix also has the for_each axes.
    const points = forEachPoints(resolveInstance(scope, inst, each.for_each, lookups), Object.keys(inst.matrix));
    return points.map((m) => resolveInstance(scope, { ...inst, matrix: { ...inst.matrix, ...m } }, each.item, lookups));
  }
  if (Array.isArray(value)) return value.map((v) => resolveInstance(scope, inst, v, lookups));
  const out: { [k: string]: Json } = {};
  for (const [k, v] of Object.entries(value)) out[k] = resolveInstance(scope, inst, v, lookups);
  return out;
}

function resolveRefs(scope: ResolveScope, inst: Instance, value: Json, lookups: OutputLookups): Json {
  return resolveValue(value, (ref: Ref, raw: string): Json => {
    switch (ref.root) {
      case 'params':
        return paramValue(scope.params, ref.name, ref.path);
      case 'matrix': {
        const v = inst.matrix[ref.axis];
        if (v === undefined)
          throw new InterpolationError(`${raw}: stage "${inst.stage.name}" has no matrix axis "${ref.axis}"`, 'add the axis under matrix:');
        return ref.path.length ? fieldOf(v, ref.path, raw) : v;
      }
      case 'env':
        return envValue(scope.env, ref.name, ref.fallback);
      case 'stages': {
        const { instances, pinned } = matchUpstream(scope.byStage, ref.pins ? { ...inst.matrix, ...ref.pins } : inst.matrix, ref.stage);
        if (instances.length === 0)
          throw new InterpolationError(`${raw}: no instance of "${ref.stage}" matches ${inst.id}`, 'align the matrix values of both stages');
        const output = ref.outputFrom ? outputNamed(inst, ref.outputFrom, instances[0], raw) : ref.output;
        return pinned ? lookups.output(instances[0], output) : instances.map((u) => lookups.output(u, output));
      }
      case 'outs':
        if (!lookups.outs) throw new InterpolationError(`${raw}: \${outs...} is only available in command stages`, 'use it in run:, env: or deps: of a stage with outs:');
        return lookups.outs(ref.name);
      case 'deps': {
        const dep = depEntries(inst.stage).find((d) => d.name === ref.name);
        if (!dep) throw new InterpolationError(`${raw}: stage "${inst.stage.name}" has no dep named "${ref.name}"`, 'name it in the map form, deps: { NAME: path }');
        // The loader refuses ${deps...} inside deps:, so this cannot recurse.
        return resolveInstance(scope, inst, dep.path, lookups);
      }
      case 'resources':
        return commandResources(inst.stage)[ref.name];
      case 'group':
        if (!lookups.group) throw new InterpolationError(`${raw} is only available in run: and env: of a command stage with group_by:`, 'add group_by: [AXIS] to the stage');
        return lookups.group();
    }
  });
}

/**
 * A `shell: true` command line with its references resolved. Each reference's value enters as shell-quoted
 * words (a list: one word per element), so no value (a `--set`, a matrix value, a path) can run as shell
 * code. `${outs.NAME}` and `${group.members}` stay as the lookup returns them: the runner quotes the path when it fills it in.
 */
export function resolveShellCommand(scope: ResolveScope, inst: Instance, command: string, lookups: OutputLookups): string {
  let out = '';
  for (const seg of parseTemplate(command)) {
    if (!('ref' in seg)) out += seg.text;
    else if (seg.ref.root === 'outs' || seg.ref.root === 'group') out += String(resolveInstance(scope, inst, seg.raw, lookups));
    else {
      const v = resolveInstance(scope, inst, seg.raw, lookups);
      if (v !== null && typeof v === 'object' && !Array.isArray(v))
        throw new InterpolationError(`${seg.raw} is a map and cannot be embedded in a shell command`, 'reference one of its values instead');
      out += quote((Array.isArray(v) ? v : [v]).map((x) => (typeof x === 'string' ? x : JSON.stringify(x))));
    }
  }
  return out;
}

/**
 * References written inside single or double quotes of a shell command line. They would be quoted twice
 * (the quotes would end up in the value), so loading refuses them. A small scanner of sh's quoting rules:
 * shell-quote's parser expands variables and reports no source positions, which this check needs.
 */
export function quotedShellRefs(command: string): string[] {
  const found: string[] = [];
  let state: 'none' | 'single' | 'double' = 'none';
  for (let i = 0; i < command.length; i++) {
    const c = command[i];
    if (command.startsWith('$${', i)) {
      i += 2;
      continue;
    }
    if (command.startsWith('${', i) && state !== 'none') {
      const end = command.indexOf('}', i);
      found.push(command.slice(i, end < 0 ? undefined : end + 1));
    }
    if (state === 'single') {
      if (c === "'") state = 'none';
    } else if (c === '\\') i++;
    else if (c === '"') state = state === 'double' ? 'none' : 'double';
    else if (c === "'" && state === 'none') state = 'single';
  }
  return found;
}

/** The output that `${stages.S.outputs[matrix.AXIS.KEY]}` names, checked against S's outputs. */
function outputNamed(inst: Instance, from: { readonly axis: string; readonly path: readonly string[] }, upstream: Instance, raw: string): string {
  const v = inst.matrix[from.axis];
  if (v === undefined) throw new InterpolationError(`${raw}: stage "${inst.stage.name}" has no matrix axis "${from.axis}"`, 'add the axis under matrix:');
  const name = from.path.length ? fieldOf(v, from.path, raw) : matrixLabel(v);
  const outputs = outputNames(upstream.stage, upstream.kind);
  if (typeof name !== 'string' || !outputs.includes(name))
    throw new InterpolationError(`${raw}: ${JSON.stringify(name)} is not an output of "${upstream.stage.name}"`, `its outputs: ${outputs.join(', ') || 'none'}`);
  return name;
}

/**
 * `${matrix.AXIS.KEY...}`: a field of a map-valued matrix value. `.name` of a scalar or list value is its
 * label (`sc+ic`), so a path or name can always be built from any axis.
 */
function fieldOf(v: Json, path: readonly string[], raw: string): Json {
  if (path.length === 1 && path[0] === 'name' && (v === null || typeof v !== 'object' || Array.isArray(v))) return matrixLabel(v);
  let cur: Json | undefined = v;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !(k in cur))
      throw new InterpolationError(`${raw}: the matrix value ${JSON.stringify(v)} has no key "${path.join('.')}"`, 'give every value of the axis that key, or reference the axis itself');
    cur = cur[k];
  }
  return cur as Json;
}
