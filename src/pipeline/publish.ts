// Published outputs, as written in a pipeline file: `outs: { plot: { path: quals.svg, publish: plots/q.svg } }`
// on command stages, `publish: { OUTPUT: PATH }` on any stage. Outputs stay content-addressed in the
// store; publishing only copies them to workspace paths users look at (see src/engine/publish.ts).
import { isAbsolute, normalize, relative, resolve } from 'node:path';
import type { Json } from '../stage-api.js';
import { InterpolationError } from './interpolate.js';
import type { JsonPath } from './locate.js';
import { resolveInstance, type ResolveScope } from './resolve.js';
import type { Instance, StageDecl } from './types.js';

type Report = (path: JsonPath, key: boolean, message: string, hint?: string) => void;

/**
 * Splits the long form of `outs:` into the output paths (what the key and the command see, so a stage
 * written in the short form keeps its key) and the publish targets, merged with `publish:`.
 */
export function splitOuts(s: { [k: string]: unknown }): { outs?: Record<string, string>; publish?: Record<string, string> } {
  const out: { outs?: Record<string, string>; publish?: Record<string, string> } = {};
  const publish: Record<string, string> = {};
  if (s.outs && typeof s.outs === 'object') {
    const outs: Record<string, string> = {};
    for (const [name, spec] of Object.entries(s.outs as Record<string, unknown>)) {
      if (spec && typeof spec === 'object') {
        const long = spec as { path?: unknown; publish?: unknown };
        if (typeof long.path === 'string') outs[name] = long.path;
        if (typeof long.publish === 'string') publish[name] = long.publish;
      } else if (typeof spec === 'string') outs[name] = spec;
    }
    out.outs = outs;
  }
  if (s.publish && typeof s.publish === 'object')
    for (const [name, path] of Object.entries(s.publish as Record<string, unknown>)) if (typeof path === 'string') publish[name] = path;
  if (Object.keys(publish).length) out.publish = publish;
  return out;
}

/** Where the file says `publish` for an output (the long `outs:` form or the `publish:` map). */
function publishAt(s: StageDecl, output: string, raw: { [k: string]: unknown }): JsonPath {
  const outs = raw.outs as Record<string, unknown> | undefined;
  return outs && typeof outs[output] === 'object' ? ['stages', s.name, 'outs', output, 'publish'] : ['stages', s.name, 'publish', output];
}

interface PublishContext {
  readonly scope: ResolveScope;
  readonly workspace: string;
  /** Output names of a stage. */
  readonly outputs: (s: StageDecl) => readonly string[];
  /** The stage as written (to locate diagnostics). */
  readonly raw: (name: string) => { [k: string]: unknown };
  readonly report: Report;
}

export interface PublishedInstances {
  readonly instances: Instance[];
  readonly byId: Map<string, Instance>;
  readonly byStage: Map<string, Instance[]>;
  /** Published path -> the instance and output published there. */
  readonly publishes: Map<string, { id: string; output: string }>;
}

/** The instances with their publish targets resolved (`Instance.publish`), and the path index. */
export function withPublishTargets(built: readonly Instance[], c: PublishContext): PublishedInstances {
  const out: PublishedInstances = { instances: [], byId: new Map(), byStage: new Map(), publishes: new Map() };
  for (const base of built) {
    const publish = resolvePublish(base, c, out.publishes);
    const inst: Instance = publish ? { ...base, publish } : base;
    out.instances.push(inst);
    out.byId.set(inst.id, inst);
    const list = out.byStage.get(inst.stage.name) ?? [];
    list.push(inst);
    out.byStage.set(inst.stage.name, list);
  }
  return out;
}

/**
 * Resolves one instance's publish targets (references to params, matrix values and the environment)
 * and checks them: a declared output, a relative path inside the workspace and outside runs/, and no
 * two outputs published to one path.
 */
function resolvePublish(inst: Instance, c: PublishContext, targets: Map<string, { id: string; output: string }>): Record<string, string> | undefined {
  const spec = inst.stage.publish;
  if (!spec) return undefined;
  const resolved: Record<string, string> = {};
  for (const [output, template] of Object.entries(spec)) {
    const at = publishAt(inst.stage, output, c.raw(inst.stage.name));
    const where = at.join('.');
    const names = c.outputs(inst.stage);
    if (!names.includes(output)) {
      c.report(at.slice(0, -1), true, `${where}: stage "${inst.stage.name}" has no output "${output}"`, `outputs: ${names.join(', ') || 'none'}`);
      continue;
    }
    let value: Json;
    try {
      value = resolveInstance(c.scope, inst, template, {
        output: () => {
          throw new InterpolationError('a publish path cannot reference stage outputs', 'use ${params...} and ${matrix...} only');
        },
      });
    } catch (e) {
      if (!(e instanceof InterpolationError)) throw e;
      c.report(at, false, `${where}: ${e.message}`, e.hint);
      continue;
    }
    const rel = normalize(String(value));
    if (isAbsolute(rel) || relative(c.workspace, resolve(c.workspace, rel)).startsWith('..')) {
      c.report(at, false, `${where}: "${String(value)}" is not a path inside the workspace`, 'write a relative path such as plots/quals.svg');
      continue;
    }
    if (rel === '.' || rel === 'runs' || rel.startsWith('runs/')) {
      c.report(at, false, `${where}: "${rel}" is pipe's own directory or inside runs/`, 'publish to a path outside runs/, e.g. results/...');
      continue;
    }
    const taken = targets.get(rel);
    if (taken) {
      c.report(at, false, `${where}: ${inst.id} and ${taken.id} both publish to "${rel}"`, inst.stage.matrix ? 'put the matrix values in the path, e.g. plots/${matrix.sample}.svg' : 'publish each output to its own path');
      continue;
    }
    targets.set(rel, { id: inst.id, output });
    resolved[output] = rel;
  }
  return resolved;
}
